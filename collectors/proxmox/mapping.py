"""A ``ClusterReading`` turned into canonical samples, discovered CIs and relations.

External ids (source ``proxmox``), stable across polls, renames and migrations:

    hypervisor_node   <cluster>/node/<node name>
    vm                <cluster>/vm/<vmid>        (QEMU VMs and LXC containers: a vmid is
                                                  unique in a cluster, whatever its node)

Labels: every sample has ``cluster`` and ``node``; guest samples add ``vmid`` and
``type`` (``qemu``/``lxc``) — ``node`` + ``vmid`` are what the alert pipeline binds
Proxmox alerts by. Metrics (gauges unless named ``…_per_second``):

    proxmox_node_up                        1 online, 0 offline
    proxmox_node_cpu_ratio                 share of the node's CPUs in use (0-1)
    proxmox_node_cpus                      logical CPUs
    proxmox_node_memory_{used,total}_bytes
    proxmox_node_disk_{used,total}_bytes   root file system
    proxmox_node_uptime_seconds
    proxmox_vm_up                          1 running (paused included), 0 stopped;
                                           absent while its node is offline
    proxmox_vm_paused                      1 running but paused/suspended (``qmpstatus``)
    proxmox_vm_locked                      1 while PVE holds a config lock (backup,
                                           migrate, snapshot, suspended…)
    proxmox_vm_ha_managed                  1 when an HA resource
    proxmox_vm_ha_error                    1 when its HA state is error, fence or recovery
    proxmox_vm_cpus                        vCPUs
    proxmox_vm_cpu_ratio                   share of its vCPUs in use (running only)
    proxmox_vm_memory_used_bytes           (running only) / _total_bytes / _used_ratio
    proxmox_vm_disk_used_bytes             when PVE knows it (containers, guest agent)
    proxmox_vm_disk_total_bytes
    proxmox_vm_uptime_seconds              (running only)
    proxmox_vm_network_{receive,transmit}_bytes_per_second    from netin / netout
    proxmox_vm_disk_{read,write}_bytes_per_second             from diskread / diskwrite
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from collectors.proxmox.rates import COUNTERS, CounterReading, ProxmoxPollState, counter_rates
from collectors.proxmox.reading import ClusterReading, GuestReading, NodeReading
from collectors.result import DiscoveredCI, DiscoveredRelation, PollResult
from collectors.samples import CIRef, Sample
from itsm_core.cmdb.choices import RelationType
from itsm_core.cmdb.classes import HYPERVISOR_NODE, VM

SOURCE = "proxmox"
PLATFORM = "proxmox-ve"
MIB = 1024**2
GIB = 1024**3
HA_TROUBLE = frozenset({"error", "fence", "recovery"})
RATE_METRICS = {
    "netin": "proxmox_vm_network_receive_bytes_per_second",
    "netout": "proxmox_vm_network_transmit_bytes_per_second",
    "diskread": "proxmox_vm_disk_read_bytes_per_second",
    "diskwrite": "proxmox_vm_disk_write_bytes_per_second",
}


def node_ref(cluster: str, node: str) -> CIRef:
    return CIRef(SOURCE, f"{cluster}/node/{node}")


def guest_ref(cluster: str, vmid: int) -> CIRef:
    return CIRef(SOURCE, f"{cluster}/vm/{vmid}")


def _number(value: Any) -> float | None:
    """A finite number from the API, or None (absent, null, text)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _whole(value: float | None, low: int, high: int, divisor: int = 1) -> int | None:
    """``value / divisor`` as an int within the CMDB attribute's bounds, or None."""
    if value is None:
        return None
    whole = int(value // divisor)
    return whole if low <= whole <= high else None


class _Samples:
    def __init__(self, ts: datetime, labels: Mapping[str, str], ci: CIRef) -> None:
        self.ts, self.labels, self.ci = ts, dict(labels), ci
        self.out: list[Sample] = []

    def add(self, metric: str, value: float | None) -> None:
        if value is not None:
            self.out.append(Sample(metric, value, self.ts, self.labels, self.ci))


def _node_samples(cluster: str, node: NodeReading, ts: datetime) -> list[Sample]:
    figures = node.figures
    s = _Samples(ts, {"cluster": cluster, "node": node.name}, node_ref(cluster, node.name))
    s.add("proxmox_node_up", 1.0 if node.online else 0.0)
    if node.online:
        s.add("proxmox_node_cpu_ratio", _number(figures.get("cpu")))
        s.add("proxmox_node_cpus", _number(figures.get("maxcpu")))
        s.add("proxmox_node_memory_used_bytes", _number(figures.get("mem")))
        s.add("proxmox_node_memory_total_bytes", _number(figures.get("maxmem")))
        s.add("proxmox_node_disk_used_bytes", _number(figures.get("disk")))
        s.add("proxmox_node_disk_total_bytes", _number(figures.get("maxdisk")))
        s.add("proxmox_node_uptime_seconds", _number(figures.get("uptime")))
    return s.out


def _node_ci(cluster: str, node: NodeReading) -> DiscoveredCI:
    attributes: dict[str, Any] = {"cluster": cluster, "platform": PLATFORM}
    if node.version:
        attributes["version"] = node.version
    cores = _whole(_number(node.figures.get("maxcpu")), 1, 100_000)
    memory = _whole(_number(node.figures.get("maxmem")), 1, 2**40, MIB)
    if cores is not None:
        attributes["cpu_cores"] = cores
    if memory is not None:
        attributes["memory_mb"] = memory
    return DiscoveredCI(node_ref(cluster, node.name), HYPERVISOR_NODE, node.name, attributes)


def _ha(guest: GuestReading) -> tuple[bool, str | None]:
    ha = guest.current.get("ha") if guest.current is not None else None
    if isinstance(ha, dict):
        return bool(ha.get("managed")), (str(ha["state"]) if ha.get("state") else None)
    state = guest.listed.get("hastate")
    return state is not None, (str(state) if state else None)


def _guest_samples(cluster: str, guest: GuestReading, rates: Mapping[str, float]) -> list[Sample]:
    labels = {
        "cluster": cluster,
        "node": guest.node,
        "vmid": str(guest.vmid),
        "type": guest.vm_type,
    }
    s = _Samples(guest.at, labels, guest_ref(cluster, guest.vmid))
    status = guest.value("status")
    running = status == "running"
    if status in ("running", "stopped"):
        s.add("proxmox_vm_up", 1.0 if running else 0.0)
        qmp = guest.value("qmpstatus")
        s.add("proxmox_vm_paused", 1.0 if running and qmp not in (None, "running") else 0.0)
    s.add("proxmox_vm_locked", 1.0 if guest.value("lock") else 0.0)
    managed, ha_state = _ha(guest)
    s.add("proxmox_vm_ha_managed", 1.0 if managed else 0.0)
    s.add("proxmox_vm_ha_error", 1.0 if ha_state in HA_TROUBLE else 0.0)
    s.add("proxmox_vm_cpus", _number(guest.value("maxcpu")) or _number(guest.value("cpus")))
    mem, maxmem = _number(guest.value("mem")), _number(guest.value("maxmem"))
    s.add("proxmox_vm_memory_total_bytes", maxmem)
    s.add("proxmox_vm_disk_total_bytes", _number(guest.value("maxdisk")))
    if running:
        s.add("proxmox_vm_cpu_ratio", _number(guest.value("cpu")))
        s.add("proxmox_vm_memory_used_bytes", mem)
        if mem is not None and maxmem:
            s.add("proxmox_vm_memory_used_ratio", mem / maxmem)
        disk = _number(guest.value("disk"))
        if disk or guest.vm_type == "lxc":
            s.add("proxmox_vm_disk_used_bytes", disk)
        s.add("proxmox_vm_uptime_seconds", _number(guest.value("uptime")))
    for counter, rate in sorted(rates.items()):
        s.add(RATE_METRICS[counter], rate)
    return s.out


def _guest_ci(cluster: str, guest: GuestReading) -> DiscoveredCI:
    attributes: dict[str, Any] = {"node": guest.node, "vmid": guest.vmid, "vm_type": guest.vm_type}
    vcpus = _whole(_number(guest.value("maxcpu")) or _number(guest.value("cpus")), 1, 4096)
    memory = _whole(_number(guest.value("maxmem")), 1, 2**40, MIB)
    disk = _number(guest.value("maxdisk"))
    if vcpus is not None:
        attributes["vcpus"] = vcpus
    if memory is not None:
        attributes["memory_mb"] = memory
    if disk:
        attributes["disk_gb"] = round(disk / GIB, 1)
    return DiscoveredCI(guest_ref(cluster, guest.vmid), VM, guest.name, attributes)


def _reading(guest: GuestReading) -> CounterReading | None:
    """The guest's counters for the next rate, if it is running and has them all."""
    uptime = _number(guest.value("uptime"))
    counters = {name: _number(guest.value(name)) for name in COUNTERS}
    if guest.value("status") != "running" or uptime is None:
        return None
    return CounterReading(
        guest.at, uptime, {k: v for k, v in counters.items() if v is not None and v >= 0}
    )


def build_result(
    target: str, reading: ClusterReading, state: ProxmoxPollState | None
) -> PollResult:
    """Samples, CIs and ``runs_on`` relations of one poll; updates ``state`` in place."""
    cluster = reading.cluster
    result = PollResult(
        target=target, complete=frozenset({HYPERVISOR_NODE, VM}), scope=f"{cluster}/"
    )
    for node in reading.nodes:
        result.samples.extend(_node_samples(cluster, node, reading.at))
        result.cis.append(_node_ci(cluster, node))
    known_nodes = {node.name for node in reading.nodes}
    previous = state.readings if state is not None else {}
    current: dict[str, CounterReading] = {}
    for guest in reading.guests:
        key = guest_ref(cluster, guest.vmid).external_id
        now = _reading(guest)
        rates = counter_rates(previous.get(key), now) if now is not None else {}
        if now is not None:
            current[key] = now
        result.samples.extend(_guest_samples(cluster, guest, rates))
        result.cis.append(_guest_ci(cluster, guest))
        if guest.node in known_nodes:
            result.relations.append(
                DiscoveredRelation(
                    RelationType.RUNS_ON,
                    guest_ref(cluster, guest.vmid),
                    node_ref(cluster, guest.node),
                )
            )
    if state is not None:
        state.readings = current
    return result
