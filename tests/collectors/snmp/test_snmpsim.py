"""Figures, rates and discontinuities against snmpsim playing a router and a switch.

The recorded counters (tests/peers/snmprec/*.snmprec) grow at known rates with snmpsim's
``numeric`` variation, so a rate can be checked against the recording within a
tolerance (two polls a couple of seconds apart; the agent's sysUpTime is the time base).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy.orm import Session

from collectors.discovery import apply_discovery
from collectors.result import PollResult
from collectors.samples import Sample
from collectors.snmp import RateState, SnmpTarget, poll_snmp
from collectors.snmp.choices import RateReason
from itsm_core.actor import SYSTEM
from itsm_core.cmdb import service
from itsm_core.cmdb.choices import Lifecycle
from tests.collectors.snmp.conftest import run
from tests.peers.snmp import SnmpsimPeer, running_snmpsim

GAP = 2.0  # seconds between polls whose rates are checked
TOLERANCE = 0.1  # relative; latency differences between the polls' requests

# From router.snmprec: octets/s x 8 = bit/s.
ROUTER_BPS = {
    ("GE0/0/0", "in"): 12_500_000 * 8,
    ("GE0/0/0", "out"): 6_250_000 * 8,
    ("GE0/0/1", "in"): 2_500_000 * 8,
    ("Serial1/0/0", "in"): 128_000 * 8,  # Counter32 only
    ("XGE0/0/2", "in"): 400_000_000 * 8,  # Counter32 wrapping every 10.7 s
    ("XGE0/0/2", "out"): 100_000_000 * 8,
}
ROUTER_SPEED_BPS = {"GE0/0/0": 1e9, "GE0/0/1": 1e9, "Serial1/0/0": 2e6, "XGE0/0/2": 1e10}


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnmpsimPeer]:
    with running_snmpsim(tmp_path_factory.mktemp("snmpsim")) as peer:
        yield peer


def device(peer: SnmpsimPeer, name: str) -> SnmpTarget:
    # snmpsim picks the data file by community: all devices share one port, so each
    # needs its own identity.
    return SnmpTarget(
        host="127.0.0.1",
        port=peer.port,
        community=SecretStr(name),
        timeout=3.0,
        retries=2,
        external_id=f"sim-{name}",
    )


def values(result: PollResult, metric: str) -> dict[str, float]:
    """``metric`` per ifName (or per storage / cpu label, or ``""`` for device figures)."""
    out: dict[str, float] = {}
    for sample in result.samples:
        if sample.metric == metric:
            labels = sample.labels
            key = labels.get("ifName") or labels.get("storage") or labels.get("cpu") or ""
            out[key] = sample.value
    return out


def rates(result: PollResult) -> list[Sample]:
    return [s for s in result.samples if s.metric in ("snmp_if_in_bps", "snmp_if_out_bps")]


def assert_no_spike(result: PollResult) -> None:
    for sample in rates(result):
        assert sample.value >= 0, sample
        speed = ROUTER_SPEED_BPS.get(sample.labels["ifName"])
        if speed is not None:
            assert sample.value <= speed, sample


async def polls(target: SnmpTarget, state: RateState, count: int) -> list[PollResult]:
    results = []
    for index in range(count):
        if index:
            await asyncio.sleep(GAP)
        results.append(await poll_snmp(target, state))
    return results


def test_router_discovery_and_static_figures(sim: SnmpsimPeer) -> None:
    result = run(poll_snmp(device(sim, "router")))

    router = result.cis[0]
    assert router.name == "county-core-rtr"
    assert router.attributes["vendor"] == "Huawei"
    assert router.attributes["os_version"] == "5.170"
    assert router.attributes["sys_object_id"] == "1.3.6.1.4.1.2011.2.224.67"
    interfaces = {ci.attributes["if_name"]: ci.attributes for ci in result.cis[1:]}
    assert set(interfaces) == {"GE0/0/0", "GE0/0/1", "Serial1/0/0", "XGE0/0/2", "NULL0"}
    assert interfaces["GE0/0/0"] == {
        "if_index": 1,
        "if_name": "GE0/0/0",
        "if_alias": "Uplink to county MAN",
        "if_type": 6,
        "speed_mbps": 1000,
        "mtu": 1500,
        "mac": "00:e0:fc:3a:00:01",
    }
    assert interfaces["XGE0/0/2"]["speed_mbps"] == 10_000  # ifHighSpeed, ifSpeed saturated
    assert "speed_mbps" not in interfaces["NULL0"]
    assert len(result.relations) == 5

    assert values(result, "snmp_cpu_load_percent") == {"1": 35.0}
    assert values(result, "snmp_cpu_load_avg_percent") == {"": 35.0}
    assert values(result, "snmp_storage_used_percent") == {"RAM": 50.0, "flash:": 25.0}
    assert values(result, "snmp_storage_size_bytes")["RAM"] == 2 * 2**30
    flash = next(s for s in result.samples if s.labels.get("storage") == "flash:")
    assert flash.labels["type"] == "flash_memory"
    assert values(result, "snmp_if_speed_mbps")["XGE0/0/2"] == 10_000


def test_switch_status_and_chinese_aliases(sim: SnmpsimPeer) -> None:
    result = run(poll_snmp(device(sim, "switch")))

    aliases = {ci.attributes["if_name"]: ci.attributes.get("if_alias") for ci in result.cis[1:]}
    assert aliases["GE1/0/1"] == "门诊楼 uplink"  # GBK on the wire
    assert aliases["GE1/0/2"] == "住院部 接入"  # UTF-8 on the wire
    assert result.cis[0].attributes["vendor"] == "H3C"
    oper = values(result, "snmp_if_oper_status")
    admin = values(result, "snmp_if_admin_status")
    assert (oper["GE1/0/1"], oper["GE1/0/3"], admin["GE1/0/3"]) == (1.0, 2.0, 1.0)
    assert (oper["GE1/0/4"], admin["GE1/0/4"]) == (2.0, 2.0)
    assert values(result, "snmp_cpu_load_avg_percent") == {"": 15.0}
    sample = next(s for s in result.samples if s.metric == "snmp_if_oper_status")
    assert sample.ci is not None
    assert sample.ci.external_id == f"sim-switch:{sample.labels['ifIndex']}"


def test_router_rates_match_the_recording(sim: SnmpsimPeer) -> None:
    state = RateState()
    first, second = run(polls(device(sim, "router"), state, 2))

    assert rates(first) == []  # no baseline yet
    bps_in = values(second, "snmp_if_in_bps")
    bps_out = values(second, "snmp_if_out_bps")
    for (name, direction), expected in ROUTER_BPS.items():
        got = (bps_in if direction == "in" else bps_out)[name]
        assert got == pytest.approx(expected, rel=TOLERANCE), (name, direction)
    util = values(second, "snmp_if_in_utilisation_percent")
    assert util["GE0/0/0"] == pytest.approx(10.0, rel=TOLERANCE)
    assert util["Serial1/0/0"] == pytest.approx(51.2, rel=TOLERANCE)  # 1.024 of 2 Mbit/s
    assert "NULL0" not in util  # no speed, no utilisation
    # Counters are whole numbers: one count more or less over the gap is 1/GAP per second.
    assert values(second, "snmp_if_in_errors_per_second")["GE0/0/0"] == pytest.approx(
        20.0, rel=TOLERANCE, abs=1 / GAP
    )
    assert_no_spike(second)


def test_switch_counter64_near_two_to_the_63(sim: SnmpsimPeer) -> None:
    state = RateState()
    _, second = run(polls(device(sim, "switch"), state, 2))
    bps_in = values(second, "snmp_if_in_bps")
    assert bps_in["XGE1/0/49"] == pytest.approx(1e9, rel=TOLERANCE)
    assert values(second, "snmp_if_in_utilisation_percent")["XGE1/0/49"] == pytest.approx(
        10.0, rel=TOLERANCE
    )
    assert values(second, "snmp_if_in_discards_per_second")["GE1/0/1"] == pytest.approx(
        50.0, rel=TOLERANCE, abs=1 / GAP
    )
    assert bps_in["GE1/0/3"] == 0.0


def test_counter32_wrap_within_the_test_gives_the_true_rate(sim: SnmpsimPeer) -> None:
    """XGE0/0/2's ifInOctets (Counter32, 3.2 Gbit/s) wraps every 10.7 s: poll until a
    wrap was seen, and every rate must still be the recorded one."""
    state = RateState()
    target = device(sim, "router")

    async def until_wrapped() -> list[PollResult]:
        results = [await poll_snmp(target, state)]
        for _ in range(20):  # at most ~40 s; a wrap comes every 10.7 s
            await asyncio.sleep(GAP)
            results.append(await poll_snmp(target, state))
            if state.outcomes[RateReason.WRAPPED]:
                break
        return results

    results = run(until_wrapped())
    assert state.outcomes[RateReason.WRAPPED] >= 1
    assert state.outcomes[RateReason.RESET] == 0
    for result in results[1:]:
        assert values(result, "snmp_if_in_bps")["XGE0/0/2"] == pytest.approx(3.2e9, rel=TOLERANCE)
        assert_no_spike(result)


def test_simulator_restart_gives_no_false_spike(tmp_path: Path) -> None:
    """A reboot sets sysUpTime back to ~0 and every counter back to its initial value:
    the poll after it has no rates (not a wrap-sized spike), the next one is right."""
    with running_snmpsim(tmp_path / "snmpsim", ("router",)) as peer:
        state = RateState()
        target = device(peer, "router")
        before = run(polls(target, state, 2))
        peer.restart()
        after = run(polls(target, state, 2))

    uptime_before = values(before[-1], "snmp_uptime_seconds")[""]
    uptime_after = values(after[0], "snmp_uptime_seconds")[""]
    assert uptime_after < uptime_before
    assert state.outcomes[RateReason.RESTART] >= 1
    assert rates(after[0]) == []  # the first poll after the restart: baseline only
    for result in (*before[1:], *after[1:]):
        assert values(result, "snmp_if_in_bps")["GE0/0/0"] == pytest.approx(1e8, rel=TOLERANCE)
        assert values(result, "snmp_if_in_bps")["XGE0/0/2"] == pytest.approx(3.2e9, rel=TOLERANCE)
        assert_no_spike(result)


def test_discovery_lands_in_the_cmdb_and_sweeps_only_this_devices_interfaces(
    sim: SnmpsimPeer, session: Session
) -> None:
    router = run(poll_snmp(device(sim, "router")))
    switch = run(poll_snmp(device(sim, "switch")))
    for result in (router, switch):
        report = apply_discovery(session, SYSTEM, result)
        assert report.failures == []  # every attribute and relation passed the CMDB's rules
        assert len(report.created) == len(result.cis)
        assert report.relations_created == len(result.relations)

    # The switch loses GE1/0/4 (a line card pulled): only that interface goes missing.
    gone = next(ci for ci in switch.cis if ci.attributes.get("if_name") == "GE1/0/4")
    switch.cis = [ci for ci in switch.cis if ci.ref != gone.ref]
    switch.relations = [rel for rel in switch.relations if rel.source != gone.ref]
    report = apply_discovery(session, SYSTEM, switch)
    found = service.find_by_external_id(session, "snmp", gone.ref.external_id)
    assert found is not None
    assert report.missing == [found.id]
    assert found.lifecycle == Lifecycle.MISSING
    for seen in router.cis:
        kept = service.find_by_external_id(session, "snmp", seen.ref.external_id)
        assert kept is not None
        assert kept.lifecycle == Lifecycle.ACTIVE
