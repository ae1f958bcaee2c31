"""fakepve (a Proxmox VE API fake, AGPL: tests and demo only) over HTTPS on loopback.

    tls = make_tls(tmp_path)                       # a throw-away CA + server certificate
    with running_fakepve(tls, two_node_cluster()) as peer:
        result = asyncio.run(poll_proxmox(peer.target()))   # verifies with peer.tls.ca_file
        peer.set_stats(101, netin=5_000)           # change the fake between polls
        peer.delete_guest(103)

The server itself (thread, loop, seeding, certificates) is ``api.demo.fakepve_runner``,
shared with ``fulcrum demo``; this module adds the test conveniences.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from api.demo.fakepve_runner import ClusterSpec, FakePveServer, GuestSpec, TlsFiles, make_tls
from collectors.proxmox import ProxmoxTarget

__all__ = [
    "ClusterSpec",
    "GuestSpec",
    "PvePeer",
    "make_tls",
    "running_fakepve",
    "two_node_cluster",
]


def two_node_cluster(name: str = "pve-test", first_vmid: int = 101) -> ClusterSpec:
    """Two nodes; running, stopped, locked and HA-managed VMs, and a container."""
    v = first_vmid
    return ClusterSpec(
        name=name,
        nodes=("pve1", "pve2"),
        guests=(
            GuestSpec(v, "his-app-01", "pve1", cores=4, memory_mb=8192, disk_gb=64),
            GuestSpec(v + 1, "his-db-01", "pve2", cores=8, memory_mb=16384, disk_gb=200),
            GuestSpec(v + 2, "tele-gw-01", "pve1", ha_state="started"),
            GuestSpec(v + 3, "old-test", "pve2", status="stopped"),
            GuestSpec(v + 4, "backup-proxy", "pve2", lock="backup"),
            GuestSpec(v + 5, "dns-ct", "pve1", vm_type="lxc", cores=1, memory_mb=512),
        ),
    )


@dataclass
class PvePeer:
    """A running fakepve with its cluster spec and the CA that verifies it."""

    server: FakePveServer
    spec: ClusterSpec
    tls: TlsFiles

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def pve(self) -> Any:
        """The fake's state (read it freely; change it through ``server.apply``)."""
        return self.server.pve

    def target(self, **fields: Any) -> ProxmoxTarget:
        """A target with this cluster's token, trusting the test CA unless told otherwise."""
        values: dict[str, Any] = {
            "url": self.url,
            "token_id": self.spec.token_id,
            "token_secret": SecretStr(self.spec.token_secret),
            "ca_bundle": self.tls.ca_file,
            "timeout_seconds": 10.0,
        }
        values.update(fields)
        return ProxmoxTarget(**values)

    def set_stats(self, vmid: int, **stats: float) -> None:
        """Override a guest's figures (``netin``, ``uptime``…) as status/current shows them."""

        def change(pve: Any) -> None:
            pve.guest(vmid).stats.update(stats)

        self.server.apply(change)

    def delete_guest(self, vmid: int) -> None:
        """The VM disappears from the cluster (as after ``qm destroy``)."""

        def change(pve: Any) -> None:
            pve.vms = [vm for vm in pve.vms if vm.vmid != vmid]
            pve.cts = [ct for ct in pve.cts if ct.vmid != vmid]

        self.server.apply(change)

    def migrate_guest(self, vmid: int, node: str) -> None:
        """The VM now lives on ``node`` (a finished migration)."""

        def change(pve: Any) -> None:
            pve.guest(vmid).node = node

        self.server.apply(change)


@contextmanager
def running_fakepve(
    tls: TlsFiles, spec: ClusterSpec | None = None, *, time_scale: float = 0.0
) -> Iterator[PvePeer]:
    """fakepve on https://127.0.0.1:<free port>, stopped when the block ends."""
    cluster = spec or two_node_cluster()
    with FakePveServer(cluster, tls, time_scale=time_scale) as server:
        yield PvePeer(server, cluster, tls)
