"""poll_proxmox against fakepve over HTTPS, through the real proxmoxer client."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from api.demo.estate import APPLICATIONS
from api.demo.fakepve_runner import TlsFiles, demo_cluster, make_tls
from collectors.errors import AuthenticationFailed, ProtocolError, TargetUnreachable
from collectors.proxmox import ProxmoxClient, ProxmoxPollState, ProxmoxTarget, poll_proxmox
from collectors.proxmox.client import api_path
from collectors.result import PollResult
from collectors.samples import Sample
from tests.collectors.proxmox.conftest import Clock
from tests.peers.proxmox import ClusterSpec, GuestSpec, PvePeer, running_fakepve

RATES = (
    "proxmox_vm_network_receive_bytes_per_second",
    "proxmox_vm_network_transmit_bytes_per_second",
    "proxmox_vm_disk_read_bytes_per_second",
    "proxmox_vm_disk_write_bytes_per_second",
)


def poll(
    target: ProxmoxTarget, state: ProxmoxPollState | None = None, clock: Clock | None = None
) -> PollResult:
    if clock is None:
        return asyncio.run(poll_proxmox(target, state))
    return asyncio.run(poll_proxmox(target, state, clock=clock))


def values(
    samples: Iterable[Sample], vmid: int | None = None, node: str | None = None
) -> dict[str, float]:
    """metric → value for one guest (``vmid``) or one node's own samples."""
    out: dict[str, float] = {}
    for s in samples:
        if vmid is not None and s.labels.get("vmid") != str(vmid):
            continue
        if node is not None and (s.labels.get("node") != node or "vmid" in s.labels):
            continue
        out[s.metric] = s.value
    return out


def test_poll_reads_nodes_guests_and_their_relations(pve_peer: PvePeer) -> None:
    result = poll(pve_peer.target())

    assert result.target == pve_peer.url
    assert result.complete == {"hypervisor_node", "vm"}
    assert result.scope == "pve-test/"
    by_id = {ci.ref.external_id: ci for ci in result.cis}
    assert set(by_id) == {"pve-test/node/pve1", "pve-test/node/pve2"} | {
        f"pve-test/vm/{v}" for v in range(101, 107)
    }
    assert {ci.ref.source for ci in result.cis} == {"proxmox"}
    node = by_id["pve-test/node/pve1"]
    assert node.ci_class == "hypervisor_node"
    assert node.attributes["cluster"] == "pve-test"
    assert node.attributes["platform"] == "proxmox-ve"
    assert node.attributes["cpu_cores"] == 4
    db = by_id["pve-test/vm/102"]
    assert (db.ci_class, db.name) == ("vm", "his-db-01")
    assert db.attributes == {
        "node": "pve2",
        "vmid": 102,
        "vm_type": "qemu",
        "vcpus": 8,
        "memory_mb": 16384,
        "disk_gb": 200.0,
    }
    assert by_id["pve-test/vm/106"].attributes["vm_type"] == "lxc"
    runs_on = {(r.relation, r.source.external_id, r.target.external_id) for r in result.relations}
    assert ("runs_on", "pve-test/vm/102", "pve-test/node/pve2") in runs_on
    assert ("runs_on", "pve-test/vm/106", "pve-test/node/pve1") in runs_on
    assert len(runs_on) == 6
    # Every guest sample carries node + vmid, what alerts bind Proxmox CIs by.
    node_of = {ci.ref.external_id: ci.attributes.get("node") for ci in result.cis}
    for sample in result.samples:
        assert sample.ci is not None
        assert sample.ci.source == "proxmox"
        assert sample.labels["cluster"] == "pve-test"
        if sample.metric.startswith("proxmox_vm_"):
            assert sample.ci.external_id == f"pve-test/vm/{sample.labels['vmid']}"
            assert sample.labels["node"] == node_of[sample.ci.external_id]
    running = values(result.samples, vmid=102)
    assert running["proxmox_vm_up"] == 1.0
    assert running["proxmox_vm_memory_total_bytes"] == 16384 * 1024**2
    assert not set(RATES) & set(running)  # one poll has no rates yet
    assert values(result.samples, node="pve1")["proxmox_node_up"] == 1.0


def test_stopped_locked_paused_and_ha_states(pve_peer: PvePeer) -> None:
    with ProxmoxClient(pve_peer.target()) as client:
        upid = client.post(api_path("nodes", "pve1", "qemu", 101, "status", "suspend"))
        assert client.wait_task(upid, timeout=10).ok
    pve_peer.server.apply(lambda pve: setattr(pve.guest(103), "ha_state", "error"))

    samples = poll(pve_peer.target()).samples

    paused = values(samples, vmid=101)
    assert (paused["proxmox_vm_up"], paused["proxmox_vm_paused"]) == (1.0, 1.0)
    stopped = values(samples, vmid=104)
    assert (stopped["proxmox_vm_up"], stopped["proxmox_vm_paused"]) == (0.0, 0.0)
    assert "proxmox_vm_cpu_ratio" not in stopped
    assert "proxmox_vm_uptime_seconds" not in stopped
    assert values(samples, vmid=105)["proxmox_vm_locked"] == 1.0
    assert values(samples, vmid=102)["proxmox_vm_locked"] == 0.0
    ha = values(samples, vmid=103)
    assert (ha["proxmox_vm_ha_managed"], ha["proxmox_vm_ha_error"]) == (1.0, 1.0)
    assert values(samples, vmid=102)["proxmox_vm_ha_managed"] == 0.0


def test_counters_become_rates_across_two_polls(pve_peer: PvePeer, clock: Clock) -> None:
    state = ProxmoxPollState()
    pve_peer.set_stats(101, uptime=1000, netin=5e6, netout=1e6, diskread=2e6, diskwrite=4e6)
    pve_peer.set_stats(106, uptime=500, netin=100, netout=100, diskread=0, diskwrite=0)
    poll(pve_peer.target(), state, clock)

    clock.advance(60)
    pve_peer.set_stats(101, uptime=1060, netin=5e6 + 60 * 1500, netout=1e6 + 60 * 250)
    pve_peer.set_stats(101, diskread=2e6 + 60 * 4096, diskwrite=4e6)
    pve_peer.set_stats(106, uptime=560, netin=100 + 60 * 10, netout=100, diskread=0, diskwrite=0)
    second = poll(pve_peer.target(), state, clock)

    vm = values(second.samples, vmid=101)
    assert vm["proxmox_vm_network_receive_bytes_per_second"] == pytest.approx(1500)
    assert vm["proxmox_vm_network_transmit_bytes_per_second"] == pytest.approx(250)
    assert vm["proxmox_vm_disk_read_bytes_per_second"] == pytest.approx(4096)
    assert vm["proxmox_vm_disk_write_bytes_per_second"] == 0.0
    container = values(second.samples, vmid=106)
    assert container["proxmox_vm_network_receive_bytes_per_second"] == pytest.approx(10)
    # A stopped VM has no counters to rate.
    assert not set(RATES) & set(values(second.samples, vmid=104))


def test_a_restarted_vm_gives_no_false_spike(pve_peer: PvePeer, clock: Clock) -> None:
    state = ProxmoxPollState()
    pve_peer.set_stats(101, uptime=86_400, netin=9e9, netout=9e9, diskread=9e9, diskwrite=9e9)
    pve_peer.set_stats(102, uptime=86_400, netin=1e6, netout=0, diskread=0, diskwrite=0)
    poll(pve_peer.target(), state, clock)

    with ProxmoxClient(pve_peer.target()) as client:  # a real reboot through the API
        upid = client.post(api_path("nodes", "pve1", "qemu", 101, "status", "reboot"))
        assert client.wait_task(upid, timeout=10).ok
    # After the reboot the counters start again: lower ones, and (worse) some higher
    # than before, as a busy guest re-counts past its old value within one interval.
    clock.advance(60)
    pve_peer.set_stats(101, uptime=30, netin=1e6, netout=9.5e9, diskread=0, diskwrite=9.9e9)
    pve_peer.set_stats(102, uptime=86_460, netin=1e6 + 6000)
    second = poll(pve_peer.target(), state, clock)

    assert all(s.value >= 0 for s in second.samples)
    assert not set(RATES) & set(values(second.samples, vmid=101))
    assert values(second.samples, vmid=102)[RATES[0]] == pytest.approx(100)

    clock.advance(60)
    pve_peer.set_stats(101, uptime=90, netin=1e6 + 60 * 2000, netout=9.5e9, diskread=0)
    pve_peer.set_stats(101, diskwrite=9.9e9)
    third = poll(pve_peer.target(), state, clock)
    assert values(third.samples, vmid=101)[RATES[0]] == pytest.approx(2000)


def test_an_offline_node_keeps_its_guests_listed(pve_peer: PvePeer) -> None:
    pve_peer.server.apply(lambda pve: pve.set_node_offline("pve2"))

    result = poll(pve_peer.target())

    assert values(result.samples, node="pve2") == {"proxmox_node_up": 0.0}
    assert {ci.ref.external_id for ci in result.cis} >= {"pve-test/vm/102", "pve-test/vm/104"}
    assert "proxmox_vm_up" not in values(result.samples, vmid=102)  # unknown, not down
    assert values(result.samples, vmid=101)["proxmox_vm_up"] == 1.0


def test_tls_verification_with_the_test_ca_works_without_it_fails_clearly(
    pve_peer: PvePeer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ProxmoxClient(pve_peer.target()) as client:
        assert client.connect()["version"]

    # Only the target says what to trust, not the environment.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pve_peer.tls.ca_file))
    with pytest.raises(TargetUnreachable) as no_ca:
        poll(pve_peer.target(ca_bundle=None))
    assert "TLS verification failed" in no_ca.value.detail
    assert "certificate" in no_ca.value.detail

    other_ca = make_tls(tmp_path / "other").ca_file
    with pytest.raises(TargetUnreachable) as wrong_ca:
        poll(pve_peer.target(ca_bundle=other_ca))
    assert "TLS verification failed" in wrong_ca.value.detail


@pytest.mark.filterwarnings(
    # The operator chose verify_tls=false for a lab; urllib3 says so on every request.
    "ignore::urllib3.exceptions.InsecureRequestWarning"
)
def test_verification_can_be_turned_off_for_a_lab(pve_peer: PvePeer) -> None:
    result = poll(pve_peer.target(ca_bundle=None, verify_tls=False))
    assert len(result.cis) == 8


def test_a_wrong_token_is_an_authentication_failure_that_hides_the_secret(
    pve_peer: PvePeer,
) -> None:
    secret = "0b8c2a4e-not-the-right-one"
    with pytest.raises(AuthenticationFailed) as failed:
        poll(pve_peer.target(token_secret=secret))
    assert "authentication failure" in failed.value.detail
    assert secret not in str(failed.value)
    assert pve_peer.spec.token_secret not in str(failed.value)
    assert secret not in repr(pve_peer.target(token_secret=secret))


def test_missing_privileges_and_server_errors_are_reported(pve_peer: PvePeer) -> None:
    def fail(status: int, message: str) -> Any:
        return lambda pve: pve.fail("GET", "/cluster/resources", status, message, times=1)

    pve_peer.server.apply(fail(403, "Permission check failed (/, Sys.Audit)"))
    with pytest.raises(AuthenticationFailed) as forbidden:
        poll(pve_peer.target())
    assert "Permission check failed" in forbidden.value.detail

    pve_peer.server.apply(fail(500, "cluster not ready - no quorum?"))
    with pytest.raises(ProtocolError) as broken:
        poll(pve_peer.target())
    assert "HTTP 500" in broken.value.detail
    assert "no quorum" in broken.value.detail

    assert len(poll(pve_peer.target()).cis) == 8  # both faults were one-offs


def test_nobody_listening_is_unreachable(pve_peer: PvePeer) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(TargetUnreachable) as unreachable:
        poll(pve_peer.target(url=f"https://127.0.0.1:{port}", timeout_seconds=5))
    assert "cannot connect" in unreachable.value.detail


def test_the_cluster_label_can_be_pinned(pve_peer: PvePeer) -> None:
    result = poll(pve_peer.target(cluster="pve-dc"))
    assert result.scope == "pve-dc/"
    assert "pve-dc/vm/101" in {ci.ref.external_id for ci in result.cis}


def test_the_poll_runs_off_the_event_loop_and_within_its_deadline(pve_tls: TlsFiles) -> None:
    spec = ClusterSpec(nodes=("pve1",), guests=(GuestSpec(101, "a", "pve1"),))
    with running_fakepve(pve_tls, spec, time_scale=1.0) as peer:
        peer.server.apply(lambda pve: pve.slow_network(0.05))  # every answer takes a while

        async def poll_beside_a_ticker() -> tuple[PollResult, int]:
            ticks = 0

            async def tick() -> None:
                nonlocal ticks
                while True:
                    await asyncio.sleep(0.005)
                    ticks += 1

            ticker = asyncio.create_task(tick())
            try:
                return await poll_proxmox(peer.target()), ticks
            finally:
                ticker.cancel()

        result, ticks = asyncio.run(poll_beside_a_ticker())
        assert len(result.cis) == 2
        assert ticks > 3  # the loop kept running while proxmoxer waited

        with pytest.raises(TargetUnreachable, match="poll not finished within"):
            poll(peer.target(deadline_seconds=0.01))


def test_the_demo_cluster_serves_the_demo_estate_vms(pve_tls: TlsFiles) -> None:
    spec = demo_cluster()
    with running_fakepve(pve_tls, spec) as peer:
        result = poll(peer.target())
    seeded = {(vmid, node) for *_, vms in APPLICATIONS for _, node, vmid, _ in vms}
    polled = {
        (ci.attributes["vmid"], ci.attributes["node"]) for ci in result.cis if ci.ci_class == "vm"
    }
    assert polled == seeded
    assert result.scope == "pve-dc/"
