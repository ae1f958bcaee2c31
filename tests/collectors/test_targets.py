"""Targets from the targets file (YAML/TOML), ``[prometheus]`` and the CMDB."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from collectors.credentials import ProxmoxCredentials, SnmpCredentials
from collectors.targets import load_targets, read_targets_file, snmp_address
from itsm_core.errors import ValidationFailed
from itsm_core.settings import Settings
from tests.itsm_core.cmdb.factories import make_ci

TARGETS_YAML = """
profiles:
  campus: {kind: snmp, version: v2c, community: "campus-secret"}
  core-v3: {kind: snmp, version: v3, user: mon, auth_protocol: SHA-256,
            auth_key: "auth-secret-1", priv_protocol: AES128, priv_key: "priv-secret-1"}
  pve: {kind: proxmox, token: "fulcrum@pve!monitor=pve-secret-uuid", ca_bundle: /etc/pve.pem}
targets:
  - {kind: snmp, address: "10.1.0.1", profile: campus, name: county-core}
  - {kind: snmp, address: "10.1.0.9:1161", interval_seconds: 30, profile: core-v3}
  - {kind: snmp, address: "[fd00::1]:161", credentials: {community: "inline-secret"}}
  - {kind: proxmox, address: "https://pve1.example:8006/", profile: pve}
  - {kind: prometheus, address: "http://prom.example:9090",
     queries: [{name: node_load1, promql: node_load1, ci: "{instance|host}"}]}
"""


def _settings(path: Path | None, **collectors: object) -> Settings:
    sections: dict[str, dict[str, object]] = {"collectors": {"default_interval_seconds": 45}}
    if path is not None:
        sections["collectors"]["targets_file"] = str(path)
    sections["collectors"].update(collectors)
    return Settings(sections)


def test_the_file_gives_targets_with_profiles_resolved(tmp_path: Path, session: Session) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text(TARGETS_YAML)
    targets = {t.key: t for t in load_targets(session, _settings(path))}
    assert list(targets) == [
        "snmp:10.1.0.1:161",
        "snmp:10.1.0.9:1161",
        "snmp:[fd00::1]:161",
        "proxmox:https://pve1.example:8006",
        "prometheus:http://prom.example:9090",
    ]
    core = targets["snmp:10.1.0.1:161"]
    assert (core.name, core.interval_seconds) == ("county-core", 45)
    assert isinstance(core.credentials, SnmpCredentials)
    assert core.secrets() == ["campus-secret"]
    assert targets["snmp:10.1.0.9:1161"].interval_seconds == 30
    v3 = targets["snmp:10.1.0.9:1161"].credentials
    assert isinstance(v3, SnmpCredentials)
    assert v3.target_fields()["user"] == "mon"
    pve = targets["proxmox:https://pve1.example:8006"].credentials
    assert isinstance(pve, ProxmoxCredentials)
    assert pve.token_parts()[0] == "fulcrum@pve!monitor"
    prom = targets["prometheus:http://prom.example:9090"]
    assert prom.options is not None
    assert [q.name for q in prom.options.queries] == ["node_load1"]
    # Nothing printable carries a secret.
    shown = " ".join(repr(t) + str(t) for t in targets.values())
    for secret in ("campus-secret", "auth-secret-1", "priv-secret-1", "pve-secret-uuid"):
        assert secret not in shown


def test_toml_targets_file(tmp_path: Path, session: Session) -> None:
    path = tmp_path / "targets.toml"
    path.write_text(
        '[profiles.lab]\nkind = "snmp"\ncommunity = "lab-secret"\n\n'
        '[[targets]]\nkind = "snmp"\naddress = "192.0.2.7"\nprofile = "lab"\n'
    )
    assert [t.key for t in load_targets(session, _settings(path))] == ["snmp:192.0.2.7:161"]


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ("targets: [{kind: snmp, address: 10.0.0.1, profile: nope}]", "no profile named 'nope'"),
        (
            "profiles: {p: {kind: proxmox, token: 'a@pve!b=tok-secret'}}\n"
            "targets: [{kind: snmp, address: 10.0.0.1, profile: p}]",
            "profile 'p' is proxmox",
        ),
        ("targets: [{kind: snmp, address: 10.0.0.1}]", "needs a profile or credentials"),
        (
            "profiles: {p: {kind: snmp, version: v3, user: u, auth_key: tiny7}}",
            "auth_key must have at least 8 characters",
        ),
        ("profiles: {p: {kind: proxmox, token: just-a-secret}}", "user@realm!tokenid=secret"),
        ("targets: [{kind: ftp, address: x}]", "targets.0"),
        ("targets: [", "targets.yaml"),
    ],
)
def test_a_bad_file_is_refused_whole_without_echoing_secrets(
    tmp_path: Path, body: str, complaint: str
) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text(body)
    with pytest.raises(ValidationFailed) as refused:
        read_targets_file(path)
    message = str(refused.value.errors)
    assert complaint in message
    for secret in ("tok-secret", "tiny7", "just-a-secret"):
        assert secret not in message


def test_cmdb_network_devices_with_a_profile_are_polled(tmp_path: Path, session: Session) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text(TARGETS_YAML)
    with session.begin():
        core = make_ci(
            session,
            "network_device",
            "county-core",
            management_address="10.1.0.1",
            attributes={"snmp_profile": "campus"},
        )
        clinic = make_ci(
            session,
            "network_device",
            "clinic-cpe-17",
            management_address="10.7.17.1",
            attributes={"snmp_profile": "campus", "snmp_port": 1161},
        )
        make_ci(session, "network_device", "no-profile", management_address="10.7.18.1")
        make_ci(
            session,
            "network_device",
            "unknown-profile",
            management_address="10.7.19.1",
            attributes={"snmp_profile": "gone"},
        )
        make_ci(
            session,
            "network_device",
            "old",
            management_address="10.7.20.1",
            attributes={"snmp_profile": "campus"},
            lifecycle="retired",
        )
        make_ci(session, "vm", "not-a-device", management_address="10.7.21.1")
    targets = {t.key: t for t in load_targets(session, _settings(path))}
    # The file's target for 10.1.0.1 wins (its name) and is bound to the CMDB's CI.
    assert targets["snmp:10.1.0.1:161"].name == "county-core"
    assert targets["snmp:10.1.0.1:161"].ci_id == core.id
    assert targets["snmp:10.7.17.1:1161"].ci_id == clinic.id
    assert targets["snmp:10.7.17.1:1161"].interval_seconds == 45
    assert not {
        k for k in targets if k.startswith("snmp:10.7.") and not k.startswith("snmp:10.7.17")
    }
    off = {t.key for t in load_targets(session, _settings(path, cmdb_targets=False))}
    assert "snmp:10.7.17.1:1161" not in off


def test_the_prometheus_section_is_one_more_target(session: Session) -> None:
    settings = Settings(
        {
            "prometheus": {
                "url": "http://prom.example:9090",
                "queries": [{"name": "up", "promql": "up"}],
            }
        }
    )
    (target,) = load_targets(session, settings)
    assert target.key == "prometheus:http://prom.example:9090"
    assert target.options is not None
    assert load_targets(session, Settings()) == []


def test_snmp_addresses() -> None:
    assert snmp_address("10.0.0.1") == ("10.0.0.1", 161)
    assert snmp_address("router.example:1161") == ("router.example", 1161)
    assert snmp_address("[fd00::1]:162") == ("fd00::1", 162)
    assert snmp_address("fd00::1") == ("fd00::1", 161)
    for bad in ("", "host:0", "host:x", "host:70000"):
        with pytest.raises(ValueError, match="not an SNMP address"):
            snmp_address(bad)
