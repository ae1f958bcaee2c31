"""De-duplication by fingerprint: repeats, re-fires as new occurrences, stale deliveries."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from alerting.canonical import AlertStatus
from alerting.choices import OccurrenceRole
from alerting.intake_models import Alert, AlertOccurrence
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
    refired,
    resolved,
    run,
)


@pytest.fixture
def estate(sessions: sessionmaker[Session]) -> Estate:
    return build_estate(sessions)


def test_a_repeat_only_bumps_last_seen_and_the_count(
    sessions: sessionmaker[Session], settings: Settings, estate: Estate
) -> None:
    first = alert("pacs-disk", instance="pacs-01:9100", name="DiskFull")
    opened = run(sessions, settings, [first], T0)
    assert opened.new == 1
    assert len(opened.incidents_opened) == 1
    again = run(sessions, settings, [first], T0 + minutes(1))
    assert (again.new, again.repeats, again.incidents_opened) == (0, 1, [])
    run(sessions, settings, [first], T0 + minutes(2))
    with sessions() as s:
        row = alert_row(s, "pacs-disk")
        assert row.first_seen_at == T0
        assert row.last_seen_at == T0 + minutes(2)
        assert row.duplicate_count == 2
        assert row.occurrence_count == 1
        assert count(s, Alert) == 1
        assert count(s, AlertOccurrence) == 1
        assert count(s, Incident) == 1


def test_a_refire_after_resolution_is_a_new_occurrence(
    sessions: sessionmaker[Session], settings: Settings, estate: Estate
) -> None:
    first = alert("pacs-disk", instance="pacs-01:9100", name="DiskFull")
    run(sessions, settings, [first], T0)
    run(sessions, settings, [resolved(first, T0 + minutes(5))], T0 + minutes(5))
    again = refired(first, T0 + minutes(30))
    result = run(sessions, settings, [again], T0 + minutes(30))
    assert result.refired == 1
    with sessions() as s:
        row = alert_row(s, "pacs-disk")
        assert row.status == AlertStatus.FIRING
        assert row.occurrence_count == 2
        assert row.starts_at == T0 + minutes(30)
        assert row.ends_at is None
        first_occ, second_occ = occurrences(s, row.id)
        assert (first_occ.seq, first_occ.started_at, first_occ.ended_at) == (
            1,
            T0,
            T0 + minutes(5),
        )
        assert first_occ.role == OccurrenceRole.OPENED
        assert (second_occ.seq, second_occ.started_at, second_occ.ended_at) == (
            2,
            T0 + minutes(30),
            None,
        )
        assert count(s, Alert) == 1
        # Nobody resolved the incident (routing waits for the NOC): the re-fire rejoins it.
        assert count(s, Incident) == 1
        assert second_occ.incident_id == row.incident_id == first_occ.incident_id
        assert second_occ.role == OccurrenceRole.JOINED


def test_late_retries_of_an_older_state_change_nothing(
    sessions: sessionmaker[Session], settings: Settings, estate: Estate
) -> None:
    first = alert("cpe", instance="10.20.1.1:161")
    run(sessions, settings, [first], T0)
    run(sessions, settings, [resolved(first, T0 + minutes(3))], T0 + minutes(3))
    # Alertmanager retries the old firing delivery: same startsAt, so not a re-fire.
    stale = run(sessions, settings, [first], T0 + minutes(4))
    assert (stale.stale, stale.refired, stale.incidents_opened) == (1, 0, [])
    second = refired(first, T0 + minutes(10))
    run(sessions, settings, [second], T0 + minutes(10))
    # ... and now the resolution of the first occurrence arrives late.
    late = run(sessions, settings, [resolved(first, T0 + minutes(3))], T0 + minutes(11))
    assert (late.stale, late.resolved) == (1, 0)
    with sessions() as s:
        row = alert_row(s, "cpe")
        assert row.status == AlertStatus.FIRING
        assert row.occurrence_count == 2
        assert count(s, Incident) == 1


def test_a_resolved_alert_never_seen_firing_is_recorded_only(
    sessions: sessionmaker[Session], settings: Settings, estate: Estate
) -> None:
    result = run(sessions, settings, [resolved(alert("late", instance="pacs-01"))], T0)
    assert (result.new, result.resolved, result.incidents_opened) == (1, 1, [])
    with sessions() as s:
        row = alert_row(s, "late")
        assert row.status == AlertStatus.RESOLVED
        assert row.incident_id is None
        (occ,) = occurrences(s, row.id)
        assert occ.role == OccurrenceRole.RECORDED
        assert occ.ended_at is not None


def test_the_same_fingerprint_twice_in_a_payload_counts_once(
    sessions: sessionmaker[Session], settings: Settings, estate: Estate
) -> None:
    first = alert("dup", instance="pacs-01:9100")
    result = run(sessions, settings, [first, first], T0)
    assert result.received == 2
    assert result.new == 1
    with sessions() as s:
        assert count(s, Alert) == 1
        assert count(s, Incident) == 1


def test_a_heartbeat_is_not_stored_as_an_alert(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    result = run(sessions, settings, [alert("wd", name="Watchdog", severity_label="none")], T0)
    assert result.heartbeats == 1
    assert result.new == 0
    with sessions() as s:
        assert count(s, Alert) == 0
