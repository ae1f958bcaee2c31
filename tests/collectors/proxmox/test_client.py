"""ProxmoxClient (shared with remediation): tasks, paths and configuration errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.demo.fakepve_runner import TlsFiles
from collectors.errors import CollectorError, ProtocolError
from collectors.proxmox import ProxmoxClient, TaskTimedOut
from collectors.proxmox.client import PveHttpError, api_path, node_of_upid
from tests.peers.proxmox import ClusterSpec, GuestSpec, PvePeer, running_fakepve


def test_a_power_action_returns_a_upid_that_is_waited_for(pve_peer: PvePeer) -> None:
    with ProxmoxClient(pve_peer.target()) as client:
        upid = client.post(api_path("nodes", "pve2", "qemu", 102, "status", "shutdown"))
        assert upid.startswith("UPID:pve2:")
        assert node_of_upid(upid) == "pve2"
        result = client.wait_task(upid, timeout=10)
        status = client.get(api_path("nodes", "pve2", "qemu", 102, "status", "current"))
        log = client.task_log(upid)

    assert result.ok
    assert result.exitstatus == "OK"
    assert result.status["type"] == "qmshutdown"
    assert status["status"] == "stopped"
    assert log[-1] == "TASK OK"


def test_a_failed_task_reports_pve_exit_status(pve_peer: PvePeer) -> None:
    with ProxmoxClient(pve_peer.target()) as client:
        upid = client.post(api_path("nodes", "pve1", "qemu", 101, "status", "start"))
        result = client.wait_task(upid, timeout=10)
        log = client.task_log(upid)

    assert not result.ok
    assert result.exitstatus == "VM 101 already running"
    assert log[-1] == "TASK ERROR: VM 101 already running"


def test_waiting_for_a_task_gives_up_after_the_timeout(pve_tls: TlsFiles) -> None:
    spec = ClusterSpec(nodes=("pve1",), guests=(GuestSpec(101, "hung", "pve1"),))
    # Real time on the fake: the guest ignores ACPI for ten minutes.
    with running_fakepve(pve_tls, spec, time_scale=1.0) as peer:
        peer.server.apply(lambda pve: setattr(pve.guest(101), "shutdown_secs", 600))
        ticks = iter(range(0, 1000, 5))  # our clock: 5 s per look, no real waiting
        slept: list[float] = []
        with ProxmoxClient(
            peer.target(), clock=lambda: float(next(ticks)), sleep=slept.append
        ) as client:
            upid = client.post(api_path("nodes", "pve1", "qemu", 101, "status", "shutdown"))
            with pytest.raises(TaskTimedOut) as timed_out:
                client.wait_task(upid, timeout=30, interval=2)
    assert "still running after 30 s" in timed_out.value.detail
    assert slept
    assert all(0 < s <= 2 for s in slept)


def test_api_errors_keep_their_status(pve_peer: PvePeer) -> None:
    with ProxmoxClient(pve_peer.target()) as client, pytest.raises(PveHttpError) as missing:
        client.get(api_path("nodes", "pve1", "qemu", 999, "status", "current"))
    assert missing.value.status == 500
    assert "999.conf' does not exist" in missing.value.detail
    assert isinstance(missing.value, ProtocolError)


@pytest.mark.parametrize("segment", ["..", "a/b", "", "x y", "%2e%2e", "../../access"])
def test_path_segments_cannot_escape(segment: str) -> None:
    with pytest.raises(ValueError, match="path segment"):
        api_path("nodes", segment, "qemu")


def test_a_ca_bundle_that_is_not_there_is_named(pve_peer: PvePeer, tmp_path: Path) -> None:
    absent = tmp_path / "nope.pem"
    with pytest.raises(CollectorError, match=r"nope\.pem is not a readable file"):
        ProxmoxClient(pve_peer.target(ca_bundle=absent))


def test_a_upid_names_its_node() -> None:
    assert node_of_upid("UPID:pve-02:000003E8:00001B58:6B0273F7:qmreboot:101:a@pve!b:") == "pve-02"
    with pytest.raises(ValueError, match="not a PVE task id"):
        node_of_upid("pve-02:qmreboot")
