"""CI binding: which configuration item an alert is about, from its labels.

Tried in order, first hit wins:

1. the source named the CI (collectors, analytics: ``CanonicalAlert.ci_id``);
2. an explicit ``ci`` label: a CI id (digits) or a CI name;
3. Proxmox labels: ``node`` + ``vmid`` (or ``id="qemu/101"``) → the VM whose attributes
   say that node and VM id;
4. ``instance`` (``host:port``, ``[v6]:port`` or a URL; else ``host``/``hostname``/
   ``nodename``) → an IP matches a CI's management address; a host name matches a CI's
   name (full or short, as given or lower-case), its management address, a VM's
   ``hostname`` or a network device's ``sys_name`` attribute;
5. ``node`` alone → the hypervisor node of that name;
6. otherwise unbound (the NOC sees it; the "incidents with no CI" KPI counts it).

Set-based: one indexed query (ids, names, management addresses) for the whole payload,
and a second one over the class attributes only for alerts the first left unbound.
Retired CIs are never bound. When several CIs match, active ones win, then the lowest id.
"""

from __future__ import annotations

import functools
import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Select, bindparam, or_, select
from sqlalchemy.orm import Session

from alerting.canonical import CanonicalAlert
from alerting.choices import Binding
from itsm_core.cmdb.choices import Lifecycle
from itsm_core.cmdb.classes import HYPERVISOR_NODE, NETWORK_DEVICE, VM
from itsm_core.cmdb.models import ConfigurationItem

CI = ConfigurationItem
HOST_LABELS = ("instance", "host", "hostname", "nodename")
_MAX_ID = 2**31 - 1


@dataclass(frozen=True, slots=True)
class Bound:
    """The CI an alert is bound to (None: unbound) and how it was found."""

    ci: ConfigurationItem | None
    how: Binding

    @property
    def ci_id(self) -> int | None:
        return self.ci.id if self.ci is not None else None


UNBOUND = Bound(None, Binding.NONE)


def host_of(instance: str) -> str | None:
    """The host part of an ``instance`` label: ``pacs-01:9100`` → ``pacs-01``."""
    text = instance.strip()
    if not text:
        return None
    if "://" in text:
        return urlsplit(text).hostname or None
    if text.startswith("["):  # [fe80::1]:9100
        end = text.find("]")
        return text[1:end] if end > 1 else None
    try:
        ipaddress.ip_address(text)  # a bare IPv6 address has colons of its own
        return text
    except ValueError:
        pass
    return text.rsplit(":", 1)[0] if ":" in text else text


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@dataclass
class _Wanted:
    """The keys one alert offers, in the order they are tried."""

    source_id: int | None = None
    ci_id: int | None = None
    ci_name: str | None = None
    vm: tuple[str, int] | None = None
    hosts: list[str] = field(default_factory=list)  # host-name candidates, best first
    address: str | None = None
    node: str | None = None


def _wanted(alert: CanonicalAlert) -> _Wanted:
    labels = alert.labels
    wanted = _Wanted(source_id=alert.ci_id)
    explicit = (labels.get("ci") or "").strip()
    if explicit.isdigit() and 0 < int(explicit) <= _MAX_ID:
        wanted.ci_id = int(explicit)
    elif explicit:
        wanted.ci_name = explicit
    node = (labels.get("node") or "").strip() or None
    vmid = (labels.get("vmid") or "").strip()
    guest = (labels.get("id") or "").strip()
    if not vmid and guest.startswith(("qemu/", "lxc/")):
        vmid = guest.split("/", 1)[1]
    if node and vmid.isdigit() and 0 < int(vmid) <= 999_999_999:
        wanted.vm = (node, int(vmid))
    wanted.node = node
    for name in HOST_LABELS:
        host = host_of(labels.get(name) or "")
        if host:
            break
    else:
        return wanted
    wanted.address = host
    if not is_ip(host):
        short = host.split(".", 1)[0]
        wanted.hosts = list(dict.fromkeys([host, host.lower(), short, short.lower()]))
    return wanted


def _rank(ci: ConfigurationItem) -> tuple[int, int]:
    return (0 if ci.lifecycle == Lifecycle.ACTIVE else 1, ci.id)


class _Index:
    """The candidate CIs by each key, best candidate first."""

    def __init__(self) -> None:
        self.by_id: dict[int, ConfigurationItem] = {}
        self.by_name: dict[str, list[ConfigurationItem]] = defaultdict(list)
        self.by_address: dict[str, list[ConfigurationItem]] = defaultdict(list)
        self.by_host_attr: dict[str, list[ConfigurationItem]] = defaultdict(list)
        self.by_vm: dict[tuple[str, int], list[ConfigurationItem]] = defaultdict(list)
        self.nodes: dict[str, list[ConfigurationItem]] = defaultdict(list)

    def add(self, cis: Iterable[ConfigurationItem]) -> None:
        for ci in sorted(cis, key=_rank):
            if ci.id in self.by_id:
                continue
            self.by_id[ci.id] = ci
            self.by_name[ci.name].append(ci)
            if ci.management_address:
                self.by_address[ci.management_address].append(ci)
            attrs = ci.attributes or {}
            for key in ("hostname", "sys_name"):
                value = attrs.get(key)
                if isinstance(value, str):
                    self.by_host_attr[value].append(ci)
            if ci.ci_class == VM and isinstance(attrs.get("node"), str):
                vmid = attrs.get("vmid")
                if isinstance(vmid, int):
                    self.by_vm[(attrs["node"], vmid)].append(ci)
            if ci.ci_class == HYPERVISOR_NODE:
                self.nodes[ci.name].append(ci)

    def find(self, wanted: _Wanted) -> Bound:
        if wanted.source_id is not None and wanted.source_id in self.by_id:
            return Bound(self.by_id[wanted.source_id], Binding.SOURCE)
        if wanted.ci_id is not None and wanted.ci_id in self.by_id:
            return Bound(self.by_id[wanted.ci_id], Binding.CI_ID)
        if wanted.ci_name and self.by_name.get(wanted.ci_name):
            return Bound(self.by_name[wanted.ci_name][0], Binding.CI_NAME)
        if wanted.vm and self.by_vm.get(wanted.vm):
            return Bound(self.by_vm[wanted.vm][0], Binding.PROXMOX)
        if wanted.address and not wanted.hosts and self.by_address.get(wanted.address):
            return Bound(self.by_address[wanted.address][0], Binding.ADDRESS)
        for host in wanted.hosts:
            if self.by_name.get(host):
                return Bound(self.by_name[host][0], Binding.HOSTNAME)
        if wanted.hosts and wanted.address and self.by_address.get(wanted.address):
            return Bound(self.by_address[wanted.address][0], Binding.ADDRESS)
        for host in wanted.hosts:
            if self.by_host_attr.get(host):
                return Bound(self.by_host_attr[host][0], Binding.HOSTNAME)
        if wanted.node and self.nodes.get(wanted.node):
            return Bound(self.nodes[wanted.node][0], Binding.PROXMOX)
        return UNBOUND


@functools.cache
def _indexed_statement(ids: bool, names: bool, addresses: bool, vmids: bool) -> Select[Any]:
    """The candidate query for the keys a payload offers (built once per shape)."""
    conditions: list[Any] = []
    if ids:
        conditions.append(CI.id.in_(bindparam("ids", expanding=True)))
    if names:
        conditions.append(CI.name.in_(bindparam("names", expanding=True)))
    if addresses:
        conditions.append(CI.management_address.in_(bindparam("addresses", expanding=True)))
    if vmids:
        # Proxmox labels are explicit and outrank the host (often the PVE host itself).
        vmid = CI.attributes["vmid"].as_integer()
        conditions.append((CI.ci_class == VM) & vmid.in_(bindparam("vmids", expanding=True)))
    return select(CI).where(or_(*conditions), CI.lifecycle != Lifecycle.RETIRED)


def _indexed_candidates(session: Session, wants: Sequence[_Wanted]) -> list[ConfigurationItem]:
    params = {
        "ids": sorted({i for w in wants for i in (w.source_id, w.ci_id) if i is not None}),
        "names": sorted({n for w in wants for n in [w.ci_name, *w.hosts, w.node] if n}),
        "addresses": sorted({w.address for w in wants if w.address}),
        "vmids": sorted({w.vm[1] for w in wants if w.vm}),
    }
    shape = tuple(bool(params[k]) for k in ("ids", "names", "addresses", "vmids"))
    if not any(shape):
        return []
    used = {k: v for k, v in params.items() if v}
    return list(session.scalars(_indexed_statement(*shape), used))


def _attribute_candidates(session: Session, wants: Sequence[_Wanted]) -> list[ConfigurationItem]:
    """CIs whose class attributes name a wanted host (no index: only for the leftovers)."""
    hosts = sorted({h for w in wants for h in w.hosts})
    if not hosts:
        return []
    conditions = [
        (CI.ci_class == VM) & CI.attributes["hostname"].as_string().in_(hosts),
        (CI.ci_class == NETWORK_DEVICE) & CI.attributes["sys_name"].as_string().in_(hosts),
    ]
    stmt = select(CI).where(or_(*conditions), CI.lifecycle != Lifecycle.RETIRED)
    return list(session.scalars(stmt))


def bind(session: Session, alerts: Sequence[CanonicalAlert]) -> list[Bound]:
    """The binding of each alert, in order (at most two queries for the whole payload)."""
    wants = [_wanted(alert) for alert in alerts]
    index = _Index()
    index.add(_indexed_candidates(session, wants))
    found = [index.find(w) for w in wants]
    retry = [w for w, b in zip(wants, found, strict=True) if b.ci is None and w.hosts]
    if retry:
        index.add(_attribute_candidates(session, retry))
        found = [
            b if b.ci is not None else index.find(w) for w, b in zip(wants, found, strict=True)
        ]
    return found
