"""Flapping: an alert changing state N times in M minutes is marked and damped."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from alerting.choices import OccurrenceRole
from alerting.routing import service as routing
from alerting.routing.schemas import RuleSpec
from itsm_core.actor import SYSTEM
from itsm_core.incidents.choices import OPEN_STATES
from itsm_core.settings import Settings
from itsm_core.timeutil import utcnow
from tests.alerting.intake.helpers import (
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
)


@pytest.fixture
def estate(sessions: sessionmaker[Session]) -> Estate:
    build = build_estate(sessions)
    with sessions() as s, s.begin():
        routing.create_rule(s, SYSTEM, RuleSpec(name="auto", auto_resolve=True))
    return build


def test_a_flapping_alert_is_marked_and_damped(
    sessions: sessionmaker[Session], settings: Settings, estate: Estate
) -> None:
    # Defaults: 4 changes within 10 minutes flap; 20 quiet minutes end it. The lifecycle
    # stamps incidents with the wall clock, so the pipeline runs on it too.
    start = utcnow()
    first = alert("link", instance="10.20.1.1:161", name="LinkDown", starts=start)
    (opened,) = run(sessions, settings, [first], start).incidents_opened
    current = first
    outcomes = []
    for minute in range(1, 9):
        at = start + minutes(minute)
        if minute % 2:
            outcomes.append(run(sessions, settings, [resolved(current, at)], at))
        else:
            current = refired(current, at)
            outcomes.append(run(sessions, settings, [current], at))
    # Minute 1 resolves it, 2 reopens it, 3 resolves it again, 4 (the 4th change) flaps:
    # reopened one last time, and from then on nothing moves.
    assert outcomes[0].incidents_resolved == [opened]
    assert outcomes[1].incidents_reopened == [opened]
    assert outcomes[2].incidents_resolved == [opened]
    assert outcomes[3].incidents_reopened == [opened]
    for later in outcomes[4:]:
        assert later.incidents_opened == later.incidents_reopened == later.incidents_resolved == []
    assert [o.damped for o in outcomes[4:]] == [0, 1, 0, 1]
    with sessions() as s:
        (incident,) = incidents(s)
        assert incident.state in OPEN_STATES
        assert incident.reopen_count == 2
        row = alert_row(s, "link")
        assert row.flapping
        assert row.flapping_since == start + minutes(4)
        flapping_notes = [n for n in alert_notes(s, opened) if n.data.get("flapping")]
        assert len(flapping_notes) == 1
        assert "LinkDown is flapping" in flapping_notes[0].body
        roles = [o.role for o in occurrences(s, row.id)]
        assert roles[-1] == OccurrenceRole.DAMPED
        assert len(roles) == 5
    # Quiet for 24 minutes: its next change is a normal one again — the resolution
    # resolves the incident as the rule says.
    quiet = start + minutes(32)
    again = run(sessions, settings, [resolved(current, quiet)], quiet)
    assert again.incidents_resolved == [opened]
    with sessions() as s:
        assert not alert_row(s, "link").flapping
