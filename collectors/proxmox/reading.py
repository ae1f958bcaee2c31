"""What one poll reads from the PVE API (blocking; run it in a worker thread).

- ``GET /cluster/status``: the cluster's name (a standalone host has none).
- ``GET /cluster/resources``: every node and guest (``qemu`` and ``lxc``) with their
  figures in one call — the inventory discovery relies on.
- ``GET /nodes/{node}/version`` per online node.
- ``GET /nodes/{node}/{qemu|lxc}/{vmid}/status/current`` per guest on an online node:
  the fresher figures plus ``qmpstatus``, ``lock`` and the HA state.

A guest whose ``status/current`` fails (deleted in between, its node just went away)
keeps its ``/cluster/resources`` figures; only errors that concern the whole target
(unreachable, authentication) end the poll. Templates are not guests that run and are
left out.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from collectors.errors import ProtocolError, TargetUnreachable
from collectors.proxmox.client import ProxmoxClient, PveHttpError, api_path

GUEST_TYPES = ("qemu", "lxc")
_NOT_LABEL = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class NodeReading:
    """One node as ``/cluster/resources`` lists it, plus its PVE version."""

    name: str
    online: bool
    figures: Mapping[str, Any]
    version: str | None = None


@dataclass(frozen=True, slots=True)
class GuestReading:
    """One VM or container: its ``/cluster/resources`` entry and, if read, its status."""

    vmid: int
    vm_type: str
    node: str
    name: str
    listed: Mapping[str, Any]
    current: Mapping[str, Any] | None
    at: datetime

    def value(self, key: str) -> Any:
        """The freshest value of a field: ``status/current`` first, then the listing."""
        if self.current is not None and key in self.current:
            return self.current[key]
        return self.listed.get(key)


@dataclass(frozen=True, slots=True)
class ClusterReading:
    """Everything one poll read; ``cluster`` is the label every external id starts with."""

    cluster: str
    nodes: list[NodeReading]
    guests: list[GuestReading]
    at: datetime


def _label(value: str) -> str:
    return _NOT_LABEL.sub("-", value).strip("-.")[:63] or "pve"


def _list_of_dicts(value: Any, what: str, target: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ProtocolError(target, f"{what}: not a Proxmox VE list answer")
    return value


class _Deadline:
    def __init__(self, target: str, seconds: float) -> None:
        self.target = target
        self.seconds = seconds
        self.ends = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.ends:
            raise TargetUnreachable(self.target, f"poll not finished within {self.seconds:g} s")


def _cluster_name(client: ProxmoxClient, nodes: list[str]) -> str:
    if client.target.cluster:
        return client.target.cluster
    try:
        entries = _list_of_dicts(client.get("/cluster/status"), "/cluster/status", client.name)
    except PveHttpError:
        entries = []
    for entry in entries:
        if entry.get("type") == "cluster" and entry.get("name"):
            return _label(str(entry["name"]))
    # A standalone host: its own name (configure ``cluster`` to pin it).
    return _label(nodes[0] if len(nodes) == 1 else client.target.host)


def _node_version(client: ProxmoxClient, node: str) -> str | None:
    try:
        answer = client.get(api_path("nodes", node, "version"))
    except PveHttpError:
        return None
    if isinstance(answer, dict) and answer.get("version"):
        return str(answer["version"])[:200]
    return None


def _guest_status(
    client: ProxmoxClient, vm_type: str, node: str, vmid: int
) -> dict[str, Any] | None:
    try:
        answer = client.get(api_path("nodes", node, vm_type, vmid, "status", "current"))
    except PveHttpError:
        return None  # gone since the listing, or its node stopped answering
    return answer if isinstance(answer, dict) else None


def read_cluster(client: ProxmoxClient, clock: Callable[[], datetime]) -> ClusterReading:
    """One consistent-enough read of the target (see the module docstring)."""
    try:
        return _read(client, clock)
    except ValueError as exc:  # a vmid that is no number, a node name that is no name…
        raise ProtocolError(client.name, f"unexpected answer: {exc}") from exc


def _read(client: ProxmoxClient, clock: Callable[[], datetime]) -> ClusterReading:
    deadline = _Deadline(client.name, client.target.deadline_seconds)
    client.connect()
    resources = _list_of_dicts(client.get("/cluster/resources"), "/cluster/resources", client.name)
    listed_nodes = [r for r in resources if r.get("type") == "node" and r.get("node")]
    cluster = _cluster_name(client, sorted(str(r["node"]) for r in listed_nodes))
    nodes: list[NodeReading] = []
    for entry in listed_nodes:
        deadline.check()
        name = str(entry["node"])
        online = entry.get("status") == "online"
        version = _node_version(client, name) if online else None
        nodes.append(NodeReading(name, online, entry, version))
    online_nodes = {n.name for n in nodes if n.online}
    guests: list[GuestReading] = []
    for entry in resources:
        vm_type = entry.get("type")
        if vm_type not in GUEST_TYPES or entry.get("template") or entry.get("vmid") is None:
            continue
        deadline.check()
        vmid, node = int(entry["vmid"]), str(entry.get("node", ""))
        current = _guest_status(client, str(vm_type), node, vmid) if node in online_nodes else None
        name = str(entry.get("name") or f"VM {vmid}")
        guests.append(GuestReading(vmid, str(vm_type), node, name, entry, current, clock()))
    return ClusterReading(cluster, nodes, guests, clock())
