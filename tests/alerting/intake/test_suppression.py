"""Suppression: maintenance windows and changes in progress record alerts but page nobody."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from alerting.choices import OccurrenceRole
from alerting.intake_models import MaintenanceWindow
from alerting.suppression import matcher_holds
from itsm_core.actor import SYSTEM
from itsm_core.changes.choices import ChangeState, ChangeType, Risk
from itsm_core.changes.models import Change, ChangeCI
from itsm_core.cmdb import service as cmdb
from itsm_core.incidents.models import Incident
from itsm_core.settings import Settings
from tests.alerting.intake.helpers import (
    T0,
    Estate,
    alert,
    alert_row,
    build_estate,
    count,
    minutes,
    occurrences,
    run,
    with_alerting,
)


@pytest.fixture
def estate(sessions: sessionmaker[Session]) -> Estate:
    return build_estate(sessions)


def _window(
    sessions: sessionmaker[Session],
    *,
    ci_ids: list[int] | None = None,
    matchers: list[dict[str, str]] | None = None,
    start: float = -10,
    end: float = 60,
) -> int:
    with sessions() as s, s.begin():
        window = MaintenanceWindow(
            reason="UPS replacement in the township hospital",
            starts_at=T0 + minutes(start),
            ends_at=T0 + minutes(end),
            ci_ids=ci_ids or [],
            matchers=matchers or [],
            created_by="noc-lead",
        )
        s.add(window)
        s.flush()
        return window.id


def _change(sessions: sessionmaker[Session], ci_id: int, state: ChangeState) -> None:
    with sessions() as s, s.begin():
        change = Change(
            title="Replace the router's line card",
            change_type=ChangeType.NORMAL,
            state=state,
            risk=Risk.MEDIUM,
            requested_by="engineer-li",
            planned_start=T0 - minutes(30),
            planned_end=T0 + minutes(90),
        )
        s.add(change)
        s.flush()
        s.add(ChangeCI(change_id=change.id, ci_id=ci_id))


def test_a_maintenance_window_on_the_ci_suppresses_its_alerts(
    sessions: sessionmaker[Session], settings: Settings, estate: Estate
) -> None:
    window_id = _window(sessions, ci_ids=[estate.pacs])
    result = run(sessions, settings, [alert("pacs", instance="pacs-01:9100")], T0)
    assert result.suppressed == 1
    assert result.incidents_opened == []
    with sessions() as s:
        row = alert_row(s, "pacs")
        assert row.suppressed_reason == (
            f"maintenance window #{window_id}: UPS replacement in the township hospital"
        )
        assert row.incident_id is None
        (occ,) = occurrences(s, row.id)
        assert occ.role == OccurrenceRole.SUPPRESSED
        assert occ.suppressed_reason
        assert count(s, Incident) == 0


def test_a_window_by_label_matchers(
    sessions: sessionmaker[Session], settings: Settings, estate: Estate
) -> None:
    _window(
        sessions,
        matchers=[
            {"label": "alertname", "op": "=~", "value": "Disk.*"},
            {"label": "env", "op": "!=", "value": "prod"},
        ],
    )
    result = run(
        sessions,
        settings,
        [
            alert("a", instance="pacs-01", name="DiskFull", env="test"),
            alert("b", instance="pacs-01", name="DiskFull", env="prod"),
            alert("c", instance="nowhere", name="CPU"),
        ],
        T0,
    )
    assert result.suppressed == 1
    assert len(result.incidents_opened) == 2


def test_a_window_on_the_router_covers_the_clinics_behind_it(
    sessions: sessionmaker[Session], settings: Settings, estate: Estate
) -> None:
    _window(sessions, ci_ids=[estate.router])
    result = run(
        sessions,
        settings,
        [alert("r", instance="10.20.0.1"), alert("c1", instance="10.20.1.1")],
        T0,
    )
    assert result.suppressed == 2
    assert result.incidents_opened == []
    with sessions() as s:
        assert "on upstream township-router-3" in (alert_row(s, "c1").suppressed_reason or "")
    # ... unless that is switched off.
    narrow = with_alerting(settings, maintenance_covers_downstream=False)
    other = run(sessions, narrow, [alert("c2", instance="10.20.1.2")], T0)
    assert other.suppressed == 0
    assert len(other.incidents_opened) == 1


def test_a_change_being_implemented_on_the_ci_suppresses_its_alerts(
    sessions: sessionmaker[Session], settings: Settings, estate: Estate
) -> None:
    _change(sessions, estate.pacs, ChangeState.IMPLEMENTING)
    _change(sessions, estate.switch, ChangeState.SCHEDULED)  # approved but not started
    result = run(
        sessions,
        settings,
        [alert("vm", instance="pacs-01:9100"), alert("sw", instance="CORE-SW-01")],
        T0,
    )
    assert result.suppressed == 1
    assert len(result.incidents_opened) == 1
    with sessions() as s:
        reason = alert_row(s, "vm").suppressed_reason or ""
        assert reason.startswith("change CHG")
        assert "in progress" in reason
        assert alert_row(s, "sw").suppressed_reason is None


def test_a_ci_in_maintenance_lifecycle_is_suppressed(
    sessions: sessionmaker[Session], settings: Settings, estate: Estate
) -> None:
    with sessions() as s, s.begin():
        cmdb.update_ci(s, SYSTEM, cmdb.get_ci(s, estate.switch), {"lifecycle": "maintenance"})
    result = run(sessions, settings, [alert("sw", instance="CORE-SW-01")], T0)
    assert result.suppressed == 1


def test_an_alert_still_firing_when_the_window_ends_opens_its_incident(
    sessions: sessionmaker[Session], settings: Settings, estate: Estate
) -> None:
    _window(sessions, ci_ids=[estate.pacs], end=30)
    disk = alert("disk", instance="pacs-01:9100", name="DiskFull")
    assert run(sessions, settings, [disk], T0).suppressed == 1
    assert run(sessions, settings, [disk], T0 + minutes(20)).incidents_opened == []
    after = run(sessions, settings, [disk], T0 + minutes(31))
    assert len(after.incidents_opened) == 1
    with sessions() as s:
        row = alert_row(s, "disk")
        assert row.suppressed_reason is None
        assert row.incident_id == after.incidents_opened[0]
        (occ,) = occurrences(s, row.id)
        assert occ.role == OccurrenceRole.OPENED
        assert occ.incident_id == row.incident_id


@pytest.mark.parametrize(
    ("op", "value", "label", "holds"),
    [
        ("=", "a", "a", True),
        ("=", "a", "b", False),
        ("!=", "a", "b", True),
        ("=~", "pacs-.*", "pacs-01", True),
        ("=~", "pacs", "pacs-01", False),  # anchored, as in Alertmanager
        ("!~", "pacs-.*", "his-db", True),
        ("=", "", None, True),  # a missing label reads as ""
    ],
)
def test_matchers(op: str, value: str, label: str | None, holds: bool) -> None:
    labels = {} if label is None else {"x": label}
    assert matcher_holds({"label": "x", "op": op, "value": value}, labels) is holds
