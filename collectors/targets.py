"""What the scheduler polls: targets from the targets file, ``[prometheus]`` and the CMDB.

The targets file (``[collectors] targets_file``, YAML or TOML by extension)::

    profiles:                       # credentials, written once, referred to by name
      campus-v2c: {kind: snmp, version: v2c, community: "…"}
      core-v3:    {kind: snmp, version: v3, user: mon, auth_protocol: sha,
                   auth_key: "…", priv_protocol: aes, priv_key: "…"}
      pve:        {kind: proxmox, token: "fulcrum@pve!monitor=…", ca_bundle: /etc/fulcrum/pve.pem}
    targets:
      - {kind: snmp, address: "10.1.0.1", profile: campus-v2c, name: county-core}
      - {kind: snmp, address: "10.1.0.9:1161", interval_seconds: 30,
         credentials: {version: v2c, community: "…"}}
      - {kind: proxmox, address: "https://pve1.example:8006", profile: pve}
      - {kind: prometheus, address: "http://prom.example:9090",
         queries: [{name: node_load1, promql: node_load1, ci: "{instance|host}"}]}

From the CMDB: every ``network_device`` CI (planned and retired ones excepted) with a
``management_address`` and an ``snmp_profile`` attribute naming an SNMP profile of the
file is polled over SNMP (port: attribute ``snmp_port``, else 161) and bound to that CI.
A file target with the same address wins, and is bound to the CI.

``[prometheus] url``, when set, is one more target with that section's queries.
A target's *key* (``kind:address``) names it everywhere (health state, alerts, logs) and
never holds a secret.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from collectors.choices import TargetKind
from collectors.credentials import (
    Credentials,
    Profile,
    PrometheusCredentials,
    PrometheusOptions,
    ProxmoxCredentials,
    SnmpCredentials,
)
from collectors.prometheus.settings import PrometheusQuery, PrometheusSettings
from collectors.settings import CollectorSettings
from itsm_core.cmdb.choices import Lifecycle
from itsm_core.cmdb.classes import NETWORK_DEVICE
from itsm_core.cmdb.models import ConfigurationItem
from itsm_core.errors import ValidationFailed
from itsm_core.settings import Settings

log = logging.getLogger("fulcrum.collectors.targets")

SNMP_PORT = 161
_POLLED_LIFECYCLES = (Lifecycle.ACTIVE, Lifecycle.MAINTENANCE, Lifecycle.MISSING)


@dataclass(frozen=True, slots=True)
class Target:
    """One thing to poll. ``credentials`` holds secrets; ``key`` and ``str()`` never do."""

    kind: str
    address: str
    interval_seconds: float
    name: str | None = None
    ci_id: int | None = None
    credentials: Credentials | None = field(default=None, repr=False)
    options: PrometheusOptions | None = field(default=None, repr=False)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.address}"

    @property
    def label(self) -> str:
        return self.name or self.address

    def secrets(self) -> list[str]:
        """The secret values, so error texts can be scrubbed of them (belt and braces)."""
        return [] if self.credentials is None else self.credentials.secrets()

    def __str__(self) -> str:
        return self.key


def snmp_address(address: str) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address → (host, port)."""
    text = address.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") or str(SNMP_PORT)
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, str(SNMP_PORT)
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"not an SNMP address (host[:port]): {address!r}")
    return host, int(port)


def _snmp_key_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _url_address(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    if parts.username or parts.password:
        raise ValueError("give credentials in the profile, not in the URL")
    return urlunsplit(parts._replace(query="", fragment="")).rstrip("/")


# -- the file ---------------------------------------------------------------------------


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    address: str = Field(min_length=1, max_length=255)
    name: str | None = Field(default=None, max_length=200)
    interval_seconds: float | None = Field(default=None, ge=1, le=86_400)
    profile: str | None = Field(default=None, max_length=100)


class SnmpEntry(_Entry):
    kind: Literal["snmp"]
    credentials: SnmpCredentials | None = None


class ProxmoxEntry(_Entry):
    kind: Literal["proxmox"]
    credentials: ProxmoxCredentials | None = None


class PrometheusEntry(_Entry):
    kind: Literal["prometheus"]
    credentials: PrometheusCredentials | None = None
    queries: list[PrometheusQuery] = Field(min_length=1, max_length=500)


Entry = Annotated[SnmpEntry | ProxmoxEntry | PrometheusEntry, Field(discriminator="kind")]


class TargetsFile(BaseModel):
    """The parsed targets file: credential profiles and targets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    profiles: dict[str, Profile] = Field(default_factory=dict, max_length=1000)
    targets: list[Entry] = Field(default_factory=list, max_length=100_000)

    @model_validator(mode="after")
    def _profiles_exist(self) -> TargetsFile:
        for index, entry in enumerate(self.targets):
            if entry.profile is None:
                if entry.kind != "prometheus" and entry.credentials is None:
                    raise ValueError(f"targets[{index}] needs a profile or credentials")
                continue
            profile = self.profiles.get(entry.profile)
            if profile is None:
                raise ValueError(f"targets[{index}]: no profile named {entry.profile!r}")
            if profile.kind != entry.kind:
                raise ValueError(f"targets[{index}]: profile {entry.profile!r} is {profile.kind}")
        return self

    def credentials_of(self, entry: SnmpEntry | ProxmoxEntry | PrometheusEntry) -> Credentials:
        if entry.credentials is not None:
            return entry.credentials
        if entry.profile is not None:
            return _plain(self.profiles[entry.profile])
        return PrometheusCredentials()

    def snmp_profile(self, name: str) -> SnmpCredentials | None:
        profile = self.profiles.get(name)
        if profile is None or profile.kind != "snmp":
            return None
        plain = _plain(profile)
        assert isinstance(plain, SnmpCredentials)
        return plain


def _plain(profile: Any) -> Credentials:
    """A profile without its ``kind`` tag: the credentials model of that kind."""
    data = profile.model_dump(exclude={"kind"})
    plain: dict[str, type[Credentials]] = {
        "snmp": SnmpCredentials,
        "proxmox": ProxmoxCredentials,
        "prometheus": PrometheusCredentials,
    }
    return plain[profile.kind](**data)


def read_targets_file(path: Path) -> TargetsFile:
    """Parse ``path`` (``.toml``; anything else is read as YAML); refuse it whole if invalid.

    The error names the file and the offending entry, never a secret value.
    """
    try:
        raw_text = path.read_text(encoding="utf-8")
        raw = tomllib.loads(raw_text) if path.suffix == ".toml" else yaml.safe_load(raw_text)
    except (OSError, tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ValidationFailed.on("targets_file", f"{path}: {exc}") from exc
    try:
        return TargetsFile.model_validate(raw or {})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise ValidationFailed.on("targets_file", f"{path}: {problems}") from None


def file_targets(config: TargetsFile, default_interval: float) -> list[Target]:
    """The file's targets, credentials resolved from profiles."""
    out: list[Target] = []
    for entry in config.targets:
        interval = entry.interval_seconds or default_interval
        credentials = config.credentials_of(entry)
        if isinstance(entry, SnmpEntry):
            address = _snmp_key_address(*snmp_address(entry.address))
            out.append(Target(TargetKind.SNMP, address, interval, entry.name, None, credentials))
        elif isinstance(entry, ProxmoxEntry):
            address = _url_address(entry.address)
            out.append(Target(TargetKind.PROXMOX, address, interval, entry.name, None, credentials))
        else:
            address = _url_address(entry.address)
            options = PrometheusOptions(queries=entry.queries)
            out.append(
                Target(
                    TargetKind.PROMETHEUS, address, interval, entry.name, None, credentials, options
                )
            )
    return out


def prometheus_settings_target(config: PrometheusSettings, interval: float) -> Target | None:
    """``[prometheus] url`` with its queries, or None when unset or without queries."""
    if not config.url or not config.queries:
        return None
    credentials = PrometheusCredentials(
        bearer_token=config.bearer_token,
        username=config.username,
        password=config.password,
        verify_tls=config.verify_tls,
        ca_bundle=None if config.ca_bundle is None else str(config.ca_bundle),
    )
    options = PrometheusOptions(queries=config.queries)
    return Target(
        TargetKind.PROMETHEUS, _url_address(config.url), interval, None, None, credentials, options
    )


def cmdb_targets(
    session: Session, profiles: TargetsFile | None, default_interval: float
) -> list[Target]:
    """Network devices of the CMDB that name a known SNMP profile (see the module doc)."""
    if profiles is None:
        return []
    cis = ConfigurationItem
    rows = session.execute(
        select(cis.id, cis.name, cis.management_address, cis.attributes)
        .where(cis.ci_class == NETWORK_DEVICE)
        .where(cis.management_address.is_not(None))
        .where(cis.lifecycle.in_(_POLLED_LIFECYCLES))
        .order_by(cis.id)
    )
    out: list[Target] = []
    unknown: set[str] = set()
    for ci_id, name, address, attributes in rows:
        profile_name = (attributes or {}).get("snmp_profile")
        if not profile_name:
            continue
        credentials = profiles.snmp_profile(profile_name)
        if credentials is None:
            unknown.add(profile_name)
            continue
        port = (attributes or {}).get("snmp_port") or SNMP_PORT
        try:
            host, _ = snmp_address(address)
        except ValueError:
            log.warning("CI %s: management address %r is not polled", ci_id, address)
            continue
        key_address = _snmp_key_address(host, int(port))
        out.append(Target(TargetKind.SNMP, key_address, default_interval, name, ci_id, credentials))
    if unknown:
        log.warning("network devices name unknown SNMP profiles: %s", ", ".join(sorted(unknown)))
    return out


def load_targets(session: Session, settings: Settings) -> list[Target]:
    """Every target to poll now: the file's, ``[prometheus]``'s and the CMDB's, by key."""
    config = settings.section(CollectorSettings)
    interval = config.default_interval_seconds
    parsed = read_targets_file(config.targets_file) if config.targets_file else None
    targets: dict[str, Target] = {}
    if config.cmdb_targets:
        targets.update((t.key, t) for t in cmdb_targets(session, parsed, interval))
    from_file: Sequence[Target] = [] if parsed is None else file_targets(parsed, interval)
    extra = prometheus_settings_target(settings.section(PrometheusSettings), interval)
    for target in [*from_file, *([extra] if extra else [])]:
        known = targets.get(target.key)
        if known is not None and known.ci_id is not None and target.ci_id is None:
            target = _with_ci(target, known.ci_id)
        targets[target.key] = target
    return list(targets.values())


def _with_ci(target: Target, ci_id: int) -> Target:
    return Target(
        target.kind,
        target.address,
        target.interval_seconds,
        target.name,
        ci_id,
        target.credentials,
        target.options,
    )
