"""The scheduler with the real collectors (``default_pollers``) against real peers.

A targets file names an snmpsim router and a fakepve cluster; the CMDB names the snmpd
agent (a network_device with a management address and an SNMP profile). One round polls
all three, discovers CIs, stores samples; a dead agent then raises a health alert
through the real alert pipeline and records ``snmp_up 0``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerting.canonical import AlertSourceKind, AlertStatus
from alerting.intake import PipelineSink
from alerting.intake_models import Alert
from collectors.jobs import collector_service, roll_up_and_expire_metrics
from collectors.pollers import default_pollers
from collectors.scheduler import Round, Scheduler
from collectors.store.models import Series, StoredSample
from collectors.target_state import TargetState
from itsm_core.cmdb.models import ConfigurationItem
from itsm_core.settings import Settings
from itsm_core.timeutil import utcnow
from tests.itsm_core.cmdb.factories import make_ci
from tests.peers.proxmox import PvePeer, make_tls, running_fakepve
from tests.peers.snmp import SnmpdPeer, SnmpsimPeer, running_snmpd, running_snmpsim


@pytest.fixture
def snmpd(tmp_path: Path) -> Iterator[SnmpdPeer]:
    with running_snmpd(tmp_path / "snmpd") as peer:
        yield peer


@pytest.fixture
def snmpsim(tmp_path: Path) -> Iterator[SnmpsimPeer]:
    with running_snmpsim(tmp_path / "snmpsim") as peer:
        yield peer


@pytest.fixture
def pve(tmp_path: Path) -> Iterator[PvePeer]:
    with running_fakepve(make_tls(tmp_path / "tls")) as peer:
        yield peer


def test_one_round_over_snmp_proxmox_and_a_cmdb_device(
    tmp_path: Path,
    sessions: sessionmaker[Session],
    snmpd: SnmpdPeer,
    snmpsim: SnmpsimPeer,
    pve: PvePeer,
) -> None:
    targets = tmp_path / "targets.yaml"
    targets.write_text(
        yaml.safe_dump(
            {
                "profiles": {
                    "lab": {"kind": "snmp", "community": snmpd.community},
                    "sim-router": {"kind": "snmp", "community": "router"},
                    "pve": {
                        "kind": "proxmox",
                        "token": pve.spec.token,
                        "ca_bundle": str(pve.tls.ca_file),
                    },
                },
                "targets": [
                    {
                        "kind": "snmp",
                        "address": f"127.0.0.1:{snmpsim.port}",
                        "profile": "sim-router",
                    },
                    {"kind": "proxmox", "address": pve.url, "profile": "pve"},
                ],
            }
        )
    )
    with sessions() as session, session.begin():
        device = make_ci(
            session,
            "network_device",
            "lab-snmpd",
            management_address="127.0.0.1",
            attributes={"snmp_profile": "lab", "snmp_port": snmpd.port},
        )
    settings = Settings({"collectors": {"targets_file": str(targets), "failures_before_alert": 1}})
    scheduler = Scheduler(
        sessions, settings, pollers=default_pollers(settings), sink=PipelineSink(settings)
    )

    async def rounds() -> list[Round]:
        try:
            first = await scheduler.run_once()
            snmpsim.agent.stop()  # the simulated router goes dark
            sim = next(t for t in scheduler.targets if t.address.endswith(f":{snmpsim.port}"))
            second = await scheduler.poll_now([sim.key])
            return [first, second]
        finally:
            await scheduler.close()

    first, second = asyncio.run(rounds())
    assert {o.target: o.error for o in first.outcomes} == {
        f"snmp:127.0.0.1:{snmpsim.port}": None,
        f"snmp:127.0.0.1:{snmpd.port}": None,
        f"proxmox:{pve.url}": None,
    }
    assert all(o.written > 0 for o in first.outcomes)
    with sessions() as session:
        # Discovery ran: the snmpsim router, the VMs; series are bound to CIs.
        classes = set(session.scalars(select(ConfigurationItem.ci_class)))
        assert {"network_device", "interface", "hypervisor_node", "vm"} <= classes
        bound = session.scalar(select(Series).where(Series.ci_id.is_not(None)).limit(1))
        assert bound is not None
        state = session.get(TargetState, f"snmp:127.0.0.1:{snmpd.port}")
        assert state is not None
        assert state.ci_id == device.id
    (down,) = second.outcomes
    assert down.error is not None
    assert down.error.reason == "unreachable"
    assert [a.name for a in down.alerts] == ["TargetUnreachable"]
    with sessions() as session:
        alert = session.scalars(
            select(Alert).where(Alert.source == AlertSourceKind.COLLECTOR)
        ).one()
        assert alert.status == AlertStatus.FIRING
        assert alert.labels["instance"] == f"127.0.0.1:{snmpsim.port}"
        # The failed poll still recorded snmp_up 0 for the router.
        up = (
            session.execute(
                select(StoredSample.value)
                .join(Series, Series.id == StoredSample.series_id)
                .where(
                    Series.metric == "snmp_up", Series.ci_external_id == f"127.0.0.1:{snmpsim.port}"
                )
                .order_by(StoredSample.ts)
            )
            .scalars()
            .all()
        )
        assert up == [1.0, 0.0]
    assert roll_up_and_expire_metrics(sessions, settings, utcnow()) >= 0


def test_the_service_is_idle_when_disabled(sessions: sessionmaker[Session]) -> None:
    service = collector_service(sessions, Settings({"collectors": {"enabled": False}}))

    async def briefly() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(service(stop))
        await asyncio.sleep(0)
        assert not task.done()
        stop.set()
        await asyncio.wait_for(task, timeout=5)

    asyncio.run(briefly())
