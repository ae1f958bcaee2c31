"""Correlation: same CI joins its incident; downstream CPEs join the router's incident."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from alerting.choices import OccurrenceRole
from itsm_core.actor import SYSTEM, Actor
from itsm_core.incidents import lifecycle, service
from itsm_core.incidents.choices import IncidentState, ResolutionCode
from itsm_core.incidents.models import Incident
from itsm_core.people import service as people
from itsm_core.people.roles import Role
from itsm_core.settings import Settings
from itsm_core.timeutil import utcnow
from tests.alerting.intake.helpers import (
    T0,
    Estate,
    alert,
    alert_notes,
    alert_row,
    build_estate,
    incidents,
    minutes,
    occurrences,
    refired,
    resolved,
    run,
    with_alerting,
)


@pytest.fixture
def estate(sessions: sessionmaker[Session]) -> Estate:
    return build_estate(sessions, cpes=3)


def _cpe(i: int, **kw: object) -> object:
    return alert(f"cpe-{i}-down", instance=f"10.20.1.{i}:161", **kw)  # type: ignore[arg-type]


def test_alerts_on_the_same_ci_within_the_window_join_its_incident(
    sessions: sessionmaker[Session], settings: Settings, estate: Estate
) -> None:
    first = run(sessions, settings, [alert("pacs-cpu", instance="pacs-01:9100", name="CPU")], T0)
    second = run(
        sessions, settings, [alert("pacs-mem", instance="pacs-01:9100", name="Memory")],
        T0 + minutes(5),
    )  # fmt: skip
    assert second.incidents_opened == []
    assert second.incidents_joined == first.incidents_opened
    with sessions() as s:
        (incident,) = incidents(s)
        assert incident.primary_ci_id == estate.pacs
        notes = [n.body for n in alert_notes(s, incident.id)]
        assert notes[0].startswith("Opened from alert(s): CPU on PACS image server")
        assert notes[1].startswith("Alert(s) joined: Memory on PACS image server")
        occ = occurrences(s, alert_row(s, "pacs-mem").id)
        assert occ[0].role == OccurrenceRole.JOINED
        assert occ[0].incident_id == incident.id


def test_an_old_quiet_incident_on_the_ci_is_not_joined(
    sessions: sessionmaker[Session], settings: Settings, estate: Estate
) -> None:
    cpu = alert("pacs-cpu", instance="pacs-01:9100", name="CPU")
    run(sessions, settings, [cpu], T0)
    run(sessions, settings, [resolved(cpu, T0 + minutes(2))], T0 + minutes(2))
    # The incident still waits for the NOC, but nothing fired on it for an hour.
    later = run(
        sessions, settings, [alert("pacs-mem", instance="pacs-01", name="Memory")],
        T0 + minutes(60),
    )  # fmt: skip
    assert len(later.incidents_opened) == 1
    with sessions() as s:
        assert len(incidents(s)) == 2


def test_downstream_cpes_join_the_open_router_incident_as_symptoms(
    sessions: sessionmaker[Session], settings: Settings, estate: Estate
) -> None:
    router = run(sessions, settings, [alert("router-down", instance="10.20.0.1:161")], T0)
    (router_incident,) = router.incidents_opened
    cpes = run(sessions, settings, [_cpe(1), _cpe(2), _cpe(3)], T0 + minutes(1))  # type: ignore[list-item]
    assert cpes.incidents_opened == []
    assert cpes.incidents_joined == [router_incident]
    with sessions() as s:
        (incident,) = incidents(s)
        assert incident.primary_ci_id == estate.router
        assert incident.affected_ci_ids == sorted(estate.cpes)
        (joined,) = [n for n in alert_notes(s, incident.id) if "joined" in n.body]
        assert (
            "symptom of township-router-3: clinic-cpe-1 connected_to township-router-3"
            in joined.body
        )
        assert joined.data["roles"] == ["symptom"] * 3
        for i in (1, 2, 3):
            row = alert_row(s, f"cpe-{i}-down")
            assert row.incident_id == incident.id
            assert occurrences(s, row.id)[0].role == OccurrenceRole.SYMPTOM


def test_router_and_cpes_in_one_payload_open_one_incident(
    sessions: sessionmaker[Session], settings: Settings, estate: Estate
) -> None:
    # Alertmanager groups by alertname: the router and its CPEs arrive together.
    payload = [_cpe(1), _cpe(2), alert("router-down", instance="10.20.0.1:161"), _cpe(3)]
    result = run(sessions, settings, payload, T0)  # type: ignore[arg-type]
    assert len(result.incidents_opened) == 1
    with sessions() as s:
        (incident,) = incidents(s)
        assert incident.primary_ci_id == estate.router
        assert incident.affected_ci_ids == sorted(estate.cpes)
        assert "DeviceDown on township-router-3" in incident.title


def test_a_late_upstream_alert_adopts_the_symptom_incidents(
    sessions: sessionmaker[Session], settings: Settings, estate: Estate
) -> None:
    early = run(sessions, settings, [_cpe(1), _cpe(2)], T0)  # type: ignore[list-item]
    assert len(early.incidents_opened) == 2
    router = run(sessions, settings, [alert("router-down", instance="10.20.0.1")], T0 + minutes(2))
    (router_incident,) = router.incidents_opened
    assert sorted(router.incidents_adopted) == sorted(early.incidents_opened)
    with sessions() as s:
        for adopted in early.incidents_opened:
            duplicate = s.get_one(Incident, adopted)
            assert duplicate.state == IncidentState.CANCELLED
            assert duplicate.merged_into_id == router_incident
        incident = s.get_one(Incident, router_incident)
        assert incident.affected_ci_ids == sorted(estate.cpes[:2])
        for i in (1, 2):
            row = alert_row(s, f"cpe-{i}-down")
            assert row.incident_id == router_incident
            assert occurrences(s, row.id)[0].role == OccurrenceRole.SYMPTOM
        assert any("Adopted 2 downstream" in n.body for n in alert_notes(s, router_incident))
    # A CPE alert arriving now joins the router's incident directly.
    third = run(sessions, settings, [_cpe(3)], T0 + minutes(3))  # type: ignore[list-item]
    assert third.incidents_joined == [router_incident]


def test_incidents_someone_already_took_are_not_adopted(
    sessions: sessionmaker[Session], settings: Settings, estate: Estate
) -> None:
    early = run(sessions, settings, [_cpe(1)], T0)  # type: ignore[list-item]
    (cpe_incident,) = early.incidents_opened
    with sessions() as s, s.begin():
        user = people.create_user(s, SYSTEM, "engineer-li", roles={Role.ENGINEER})
        actor = Actor(name=user.username, user_id=user.id, roles=frozenset({Role.ENGINEER}))
        service.accept(s, actor, service.get_incident(s, cpe_incident, for_update=True))
    router = run(sessions, settings, [alert("router-down", instance="10.20.0.1")], T0 + minutes(2))
    assert router.incidents_adopted == []
    with sessions() as s:
        assert s.get_one(Incident, cpe_incident).state == IncidentState.IN_PROGRESS


def _resolve_by_hand(sessions: sessionmaker[Session], incident_id: int) -> None:
    with sessions() as s, s.begin():
        incident = service.get_incident(s, incident_id, for_update=True)
        lifecycle.transition(
            s, SYSTEM, incident, IncidentState.RESOLVED,
            resolution_code=ResolutionCode.FIXED, resolution_notes="restarted the service",
        )  # fmt: skip


def test_a_refire_soon_after_resolution_reopens_the_incident(
    sessions: sessionmaker[Session], settings: Settings, estate: Estate
) -> None:
    # The lifecycle stamps resolved_at with the wall clock: the pipeline runs on it too.
    start = utcnow()
    cpu = alert("pacs-cpu", instance="pacs-01:9100", name="CPU", starts=start)
    (opened,) = run(sessions, settings, [cpu], start).incidents_opened
    _resolve_by_hand(sessions, opened)
    run(sessions, settings, [resolved(cpu, start)], start)
    again = run(sessions, settings, [refired(cpu, start + minutes(6))], start + minutes(6))
    assert again.incidents_reopened == [opened]
    with sessions() as s:
        (incident,) = incidents(s)
        assert incident.state == IncidentState.NEW
        assert incident.reopen_count == 1
        assert any("Reopened" in n.body for n in alert_notes(s, opened))


def test_a_refire_long_after_resolution_opens_a_new_incident(
    sessions: sessionmaker[Session], settings: Settings, estate: Estate
) -> None:
    settings = with_alerting(settings, correlation_window_minutes=5)
    start = utcnow()
    cpu = alert("pacs-cpu", instance="pacs-01:9100", name="CPU", starts=start)
    (opened,) = run(sessions, settings, [cpu], start).incidents_opened
    _resolve_by_hand(sessions, opened)
    run(sessions, settings, [resolved(cpu, start)], start)
    later = start + minutes(30)
    again = run(sessions, settings, [refired(cpu, later)], later)
    assert again.incidents_reopened == []
    assert len(again.incidents_opened) == 1
