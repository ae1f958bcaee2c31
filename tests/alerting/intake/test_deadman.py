"""The dead-man switch on Alertmanager's Watchdog: one incident per silence."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from alerting.deadman import check_deadman, status
from alerting.intake_models import Alert, DeadmanHeartbeat
from alerting.jobs import run_deadman_check
from itsm_core.actor import SYSTEM
from itsm_core.incidents import lifecycle, service
from itsm_core.incidents.choices import OPEN_STATES, IncidentState, ResolutionCode
from itsm_core.incidents.models import Incident
from itsm_core.settings import Settings
from itsm_core.timeutil import utcnow
from tests.alerting.intake.helpers import (
    alert,
    alert_notes,
    count,
    incidents,
    minutes,
    run,
    with_alerting,
)


def _beat(sessions: sessionmaker[Session], settings: Settings, at: object) -> None:
    result = run(sessions, settings, [alert("wd", name="Watchdog", starts=at)], at)  # type: ignore[arg-type]
    assert result.heartbeats == 1


def _check(sessions: sessionmaker[Session], settings: Settings, at: object) -> Incident | None:
    with sessions() as s, s.begin():
        return check_deadman(s, settings, at)  # type: ignore[arg-type]


def test_nothing_happens_before_the_first_heartbeat(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    now = utcnow()
    assert run_deadman_check(sessions, settings, now + minutes(600)) == 0
    with sessions() as s:
        assert status(s, settings, now).state == "never_seen"
        assert count(s, Incident) == 0


def test_a_silence_opens_exactly_one_incident_which_resolves_when_it_is_back(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    # The lifecycle stamps incidents with the wall clock; the checks run on it too.
    start = utcnow()
    _beat(sessions, settings, start)
    _beat(sessions, settings, start + minutes(1))
    assert run_deadman_check(sessions, settings, start + minutes(5)) == 0
    with sessions() as s:
        state = status(s, settings, start + minutes(5))
        assert (state.state, state.heartbeat_count) == ("ok", 2)
        assert count(s, Alert) == 0  # the heartbeat is not an alert
    assert run_deadman_check(sessions, settings, start + minutes(12)) == 1
    for later in (13, 14, 30):
        assert run_deadman_check(sessions, settings, start + minutes(later)) == 0
    with sessions() as s:
        (incident,) = incidents(s)
        assert incident.title.startswith("Alert pipeline silent: No Watchdog heartbeat")
        assert incident.source == "alert"
        state = status(s, settings, start + minutes(30))
        assert (state.state, state.incident_id) == ("silent", incident.id)
    _beat(sessions, settings, start + minutes(31))
    assert run_deadman_check(sessions, settings, start + minutes(32)) == 0
    with sessions() as s:
        (incident,) = incidents(s)
        assert incident.state == IncidentState.RESOLVED
        assert incident.resolution_code == ResolutionCode.SELF_RECOVERED
        assert any("heartbeat is back" in n.body for n in alert_notes(s, incident.id))
        assert status(s, settings, start + minutes(32)).state == "ok"
    # A new silence is a new incident.
    assert run_deadman_check(sessions, settings, start + minutes(45)) == 1
    with sessions() as s:
        assert len(incidents(s)) == 2


def test_without_auto_resolve_the_noc_confirms(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    settings = with_alerting(settings, deadman_auto_resolve=False, deadman_interval_minutes=5)
    start = utcnow()
    _beat(sessions, settings, start)
    opened = _check(sessions, settings, start + minutes(6))
    assert opened is not None
    _beat(sessions, settings, start + minutes(7))
    for later in (8, 9):
        assert _check(sessions, settings, start + minutes(later)) is None
    with sessions() as s:
        incident = s.get_one(Incident, opened.id)
        assert incident.state in OPEN_STATES
        back = [n for n in alert_notes(s, opened.id) if n.data.get("heartbeat_back")]
        assert len(back) == 1  # said once, not at every check
    # Silent again while the NOC has not confirmed: noted there, no second incident.
    assert _check(sessions, settings, start + minutes(20)) is None
    with sessions() as s:
        assert len(incidents(s)) == 1
        assert any(n.data.get("silent_again") for n in alert_notes(s, opened.id))


def test_resolved_by_the_noc_while_still_silent_is_not_reopened(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    start = utcnow()
    _beat(sessions, settings, start)
    opened = _check(sessions, settings, start + minutes(11))
    assert opened is not None
    with sessions() as s, s.begin():
        incident = service.get_incident(s, opened.id, for_update=True)
        lifecycle.transition(
            s, SYSTEM, incident, IncidentState.RESOLVED,
            resolution_code=ResolutionCode.WORKAROUND, resolution_notes="AM under repair",
        )  # fmt: skip
    assert _check(sessions, settings, start + minutes(40)) is None
    with sessions() as s:
        assert len(incidents(s)) == 1
        row = s.get_one(DeadmanHeartbeat, "Watchdog")
        assert row.incident_id == opened.id


def test_disabled_or_renamed(sessions: sessionmaker[Session], settings: Settings) -> None:
    renamed = with_alerting(settings, deadman_alert_name="DeadMansSwitch")
    start = utcnow()
    result = run(sessions, renamed, [alert("dms", name="DeadMansSwitch")], start)
    assert result.heartbeats == 1
    off = with_alerting(settings, deadman_enabled=False)
    result = run(sessions, off, [alert("wd", name="Watchdog", instance="x")], start)
    assert result.heartbeats == 0
    assert result.new == 1
    with sessions() as s:
        assert status(s, off, start).state == "disabled"
