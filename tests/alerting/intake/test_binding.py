"""CI binding from labels: explicit ``ci``, ``instance`` host or IP, Proxmox labels."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from alerting.binding import bind, host_of
from alerting.choices import Binding
from itsm_core.actor import SYSTEM
from itsm_core.cmdb import service as cmdb
from itsm_core.settings import Settings
from tests.alerting.intake.helpers import T0, Estate, alert, alert_row, build_estate, run


@pytest.fixture
def estate(sessions: sessionmaker[Session]) -> Estate:
    return build_estate(sessions)


@pytest.mark.parametrize(
    ("instance", "host"),
    [
        ("pacs-01:9100", "pacs-01"),
        ("10.20.0.1:161", "10.20.0.1"),
        ("10.20.0.1", "10.20.0.1"),
        ("[fe80::1]:9100", "fe80::1"),
        ("fe80::1", "fe80::1"),
        ("http://pacs-01.hospital.local:8080/health", "pacs-01.hospital.local"),
        ("pacs-01", "pacs-01"),
        ("  ", None),
    ],
)
def test_host_of_instance(instance: str, host: str | None) -> None:
    assert host_of(instance) == host


def _bind_one(session: Session, **kwargs: object) -> tuple[int | None, Binding]:
    (found,) = bind(session, [alert("fp", **kwargs)])  # type: ignore[arg-type]
    return found.ci_id, found.how


def test_each_way_of_binding(session: Session, estate: Estate) -> None:
    cases: list[tuple[dict[str, object], int | None, Binding]] = [
        ({"ci": str(estate.router)}, estate.router, Binding.CI_ID),
        ({"ci": "clinic-cpe-2"}, estate.cpes[1], Binding.CI_NAME),
        ({"instance": "10.20.1.3:161"}, estate.cpes[2], Binding.ADDRESS),
        ({"instance": "township-router-3:9116"}, estate.router, Binding.HOSTNAME),
        ({"instance": "TOWNSHIP-ROUTER-3.county.local:9116"}, estate.router, Binding.HOSTNAME),
        ({"instance": "pacs-01:9100"}, estate.pacs, Binding.HOSTNAME),  # VM hostname attribute
        ({"instance": "core-sw-01"}, None, Binding.NONE),  # sys_name is case-sensitive
        ({"instance": "CORE-SW-01:161"}, estate.switch, Binding.HOSTNAME),  # sys_name
        ({"node": "pve1", "vmid": "101", "instance": "pve1:9221"}, estate.pacs, Binding.PROXMOX),
        ({"node": "pve1", "id": "qemu/101"}, estate.pacs, Binding.PROXMOX),
        ({"node": "pve1"}, estate.node, Binding.PROXMOX),
        ({"hostname": "pacs-01"}, estate.pacs, Binding.HOSTNAME),
        ({"ci": "no-such-ci", "instance": "10.20.0.1:161"}, estate.router, Binding.ADDRESS),
        ({"ci": "99999"}, None, Binding.NONE),
        ({"instance": "10.99.99.99:9100"}, None, Binding.NONE),
        ({"job": "node"}, None, Binding.NONE),
        ({"ci_id": estate.router}, estate.router, Binding.SOURCE),
    ]
    for kwargs, ci_id, how in cases:
        assert _bind_one(session, **kwargs) == (ci_id, how), kwargs


def test_a_whole_payload_binds_in_order(session: Session, estate: Estate) -> None:
    alerts = [
        alert("a", instance="10.20.1.1:161"),
        alert("b", instance="nowhere:1"),
        alert("c", instance="pacs-01:9100"),
        alert("d", ci="township-router-3"),
    ]
    assert [b.ci_id for b in bind(session, alerts)] == [
        estate.cpes[0],
        None,
        estate.pacs,
        estate.router,
    ]


def test_retired_cis_are_never_bound(
    sessions: sessionmaker[Session], session: Session, estate: Estate
) -> None:
    with sessions() as s, s.begin():
        router = cmdb.get_ci(s, estate.router)
        cmdb.update_ci(s, SYSTEM, router, {"lifecycle": "retired"})
    assert _bind_one(session, instance="10.20.0.1:161") == (None, Binding.NONE)


def test_binding_is_stored_on_the_alert(
    sessions: sessionmaker[Session], settings: Settings, estate: Estate
) -> None:
    run(sessions, settings, [alert("x", instance="pacs-01:9100"), alert("y")], T0)
    with sessions() as s:
        bound = alert_row(s, "x")
        assert (bound.ci_id, bound.binding) == (estate.pacs, Binding.HOSTNAME)
        unbound = alert_row(s, "y")
        assert (unbound.ci_id, unbound.binding) == (None, Binding.NONE)
