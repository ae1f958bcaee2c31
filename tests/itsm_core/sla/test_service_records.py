"""sync_incident: the SLA records derived from an incident's facts, on a real database."""

from datetime import UTC, timedelta

from sqlalchemy import select

from itsm_core.actor import SYSTEM
from itsm_core.incidents.choices import IncidentState, PendingReason, Priority
from itsm_core.incidents.models import PendingPeriod
from itsm_core.sla import service as sla
from itsm_core.sla.choices import SlaEventKind, SlaMetric, SlaState
from itsm_core.sla.models import IncidentSla, SlaEvent
from itsm_core.sla.schemas import PolicyPatch
from tests.itsm_core.sla.factories import unpublished_year
from tests.itsm_core.sla.stored import (
    SHANGHAI,
    incident,
    local,
    national_day_notice,
    office_calendar,
    pending,
    policy,
    resolved_between,
    round_the_clock,
)

K = SlaEventKind


def by_metric(records):
    return {record.metric: record for record in records}


def event_kinds(session, incident_id, metric=None):
    stmt = select(SlaEvent).where(SlaEvent.incident_id == incident_id).order_by(SlaEvent.id)
    if metric is not None:
        stmt = stmt.where(SlaEvent.metric == metric)
    return [event.kind for event in session.scalars(stmt)]


def test_scenario_6_p3_logged_before_national_day_is_due_after_the_holiday(session):
    # Wednesday 30 September 2026, 17:30: the last working minute before 1-7 October.
    office = office_calendar(session)
    policy(session, office, Priority.P3, own=30, resolve=480)
    logged = local(2026, 9, 30, 17, 30)
    ticket = incident(session, logged, Priority.P3)

    records = by_metric(sla.sync_incident(session, ticket, logged + timedelta(minutes=5)))

    resolve = records[SlaMetric.RESOLVE]
    assert resolve.due_at == local(2026, 10, 8, 16)
    assert resolve.due_at.tzinfo is UTC
    assert resolve.provisional is False
    assert resolve.state is SlaState.RUNNING
    assert resolve.warning_at == local(2026, 10, 8, 14)  # 75% of 8 h = 6 h
    assert records[SlaMetric.OWN].due_at == local(2026, 10, 8, 8, 30)


def test_unpublished_year_is_provisional_until_the_notice_is_loaded(session):
    year = unpublished_year()  # 2027 with today's libraries
    office = office_calendar(session)
    policy(session, office, Priority.P3, own=30, resolve=480)
    logged = local(year, 9, 30, 17, 30)
    ticket = incident(session, logged, Priority.P3)
    predicted = by_metric(sla.sync_incident(session, ticket, logged))[SlaMetric.RESOLVE]
    assert predicted.provisional is True
    predicted_due = predicted.due_at

    sla.load_official_notice(session, SYSTEM, office.id, national_day_notice(year), now=logged)

    session.refresh(predicted)
    assert predicted.provisional is False
    assert predicted.due_at == local(year, 10, 8, 16)  # Friday after 1-7 October
    assert predicted.due_at != predicted_due
    assert predicted.calendar_version == 2
    assert event_kinds(session, ticket.id, SlaMetric.RESOLVE) == [K.STARTED, K.RECALCULATED]


def test_sync_is_idempotent(session):
    calendar = round_the_clock(session)
    policy(session, calendar, own=60, resolve=240)
    logged = local(2026, 3, 2, 10)
    ticket = incident(session, logged)
    now = logged + timedelta(minutes=10)

    first = [(r.metric, r.state, r.due_at) for r in sla.sync_incident(session, ticket, now)]
    second = [(r.metric, r.state, r.due_at) for r in sla.sync_incident(session, ticket, now)]

    assert first == second
    assert event_kinds(session, ticket.id) == [K.STARTED, K.STARTED]


def test_pause_on_the_requester_moves_the_due_time(session):
    calendar = round_the_clock(session)
    policy(session, calendar, own=60, resolve=240)
    logged = local(2026, 3, 2, 10)
    ticket = incident(session, logged, acknowledged_at=logged + timedelta(minutes=5))
    pending(session, ticket, local(2026, 3, 2, 11), local(2026, 3, 2, 12))

    resolve = by_metric(sla.sync_incident(session, ticket, local(2026, 3, 2, 12, 30)))[
        SlaMetric.RESOLVE
    ]

    assert resolve.due_at == local(2026, 3, 2, 15)  # 14:00 plus the hour on the requester
    assert resolve.state is SlaState.RUNNING


def test_open_pause_on_the_requester_stops_the_clock(session):
    calendar = round_the_clock(session)
    policy(session, calendar, own=60, resolve=240)
    logged = local(2026, 3, 2, 10)
    ticket = incident(session, logged, acknowledged_at=logged + timedelta(minutes=5))
    pending(session, ticket, local(2026, 3, 2, 11))
    now = local(2026, 3, 3, 9)  # long past 14:00, but the requester has not answered

    records = by_metric(sla.sync_incident(session, ticket, now))
    resolve = records[SlaMetric.RESOLVE]
    assert resolve.state is SlaState.PAUSED
    assert resolve.due_at is None
    assert records[SlaMetric.OWN].state is SlaState.MET

    view = sla.incident_sla(session, ticket.id, now)
    remaining = {r.record.metric: r.remaining for r in view.records}
    assert remaining[SlaMetric.RESOLVE] == timedelta(hours=3)

    # The requester answers at 09:00 the next day: three hours are left.
    ticket.state = IncidentState.IN_PROGRESS
    pending_period(session, ticket).ended_at = now
    session.flush()
    resumed = by_metric(sla.sync_incident(session, ticket, now))[SlaMetric.RESOLVE]
    assert resumed.state is SlaState.RUNNING
    assert resumed.due_at == local(2026, 3, 3, 12)
    assert event_kinds(session, ticket.id, SlaMetric.RESOLVE) == [K.STARTED, K.PAUSED, K.RESUMED]


def pending_period(session, ticket):
    return session.scalars(
        select(PendingPeriod).where(PendingPeriod.incident_id == ticket.id)
    ).one()


def test_pending_on_a_third_party_does_not_pause(session):
    calendar = round_the_clock(session)
    policy(session, calendar, own=60, resolve=240)
    logged = local(2026, 3, 2, 10)
    ticket = incident(session, logged, acknowledged_at=logged + timedelta(minutes=5))
    pending(session, ticket, local(2026, 3, 2, 11), category=PendingReason.VENDOR)

    resolve = by_metric(sla.sync_incident(session, ticket, local(2026, 3, 2, 13)))[
        SlaMetric.RESOLVE
    ]

    assert resolve.state is SlaState.RUNNING
    assert resolve.due_at == local(2026, 3, 2, 14)


def test_met_when_acknowledged_and_resolved_in_time(session):
    calendar = round_the_clock(session)
    policy(session, calendar, own=60, resolve=240)
    logged = local(2026, 3, 2, 10)
    ticket = incident(
        session,
        logged,
        state=IncidentState.RESOLVED,
        acknowledged_at=local(2026, 3, 2, 10, 20),
        resolved_at=local(2026, 3, 2, 13),
    )

    records = by_metric(sla.sync_incident(session, ticket, local(2026, 3, 5)))

    assert records[SlaMetric.OWN].state is SlaState.MET
    assert records[SlaMetric.OWN].met_at == local(2026, 3, 2, 10, 20)
    assert records[SlaMetric.RESOLVE].state is SlaState.MET
    assert records[SlaMetric.RESOLVE].breached_at is None
    assert event_kinds(session, ticket.id, SlaMetric.RESOLVE) == [K.STARTED, K.MET]


def test_resolved_late_is_breached_at_the_due_time(session):
    calendar = round_the_clock(session)
    policy(session, calendar, own=60, resolve=240)
    logged = local(2026, 3, 2, 10)
    ticket = incident(
        session,
        logged,
        state=IncidentState.RESOLVED,
        acknowledged_at=local(2026, 3, 2, 10, 20),
        resolved_at=local(2026, 3, 2, 15),
    )

    resolve = by_metric(sla.sync_incident(session, ticket, local(2026, 3, 5)))[SlaMetric.RESOLVE]

    assert resolve.state is SlaState.BREACHED
    assert resolve.breached_at == local(2026, 3, 2, 14)
    assert resolve.stopped_at == local(2026, 3, 2, 15)
    assert resolve.met_at is None


def test_resolving_without_accepting_stops_the_own_clock_too(session):
    calendar = round_the_clock(session)
    policy(session, calendar, own=60, resolve=240)
    logged = local(2026, 3, 2, 10)
    ticket = incident(
        session, logged, state=IncidentState.RESOLVED, resolved_at=local(2026, 3, 2, 10, 30)
    )

    own = by_metric(sla.sync_incident(session, ticket, local(2026, 3, 5)))[SlaMetric.OWN]

    assert own.state is SlaState.MET


def test_reopen_runs_the_clock_again_without_the_time_spent_resolved(session):
    calendar = round_the_clock(session)
    policy(session, calendar, own=60, resolve=240)
    logged = local(2026, 3, 2, 10)
    ticket = incident(
        session,
        logged,
        state=IncidentState.RESOLVED,
        acknowledged_at=local(2026, 3, 2, 10, 5),
        resolved_at=local(2026, 3, 2, 11),
    )
    assert (
        by_metric(sla.sync_incident(session, ticket, local(2026, 3, 2, 11)))[
            SlaMetric.RESOLVE
        ].state
        is SlaState.MET
    )

    # Reopened the next morning at 09:00: it had three of its four hours left.
    resolved_between(session, ticket, local(2026, 3, 2, 11), local(2026, 3, 3, 9))
    ticket.state = IncidentState.IN_PROGRESS
    ticket.resolved_at = None
    session.flush()
    resolve = by_metric(sla.sync_incident(session, ticket, local(2026, 3, 3, 9)))[SlaMetric.RESOLVE]

    assert resolve.state is SlaState.RUNNING
    assert resolve.due_at == local(2026, 3, 3, 12)
    assert resolve.met_at is None
    assert resolve.stopped_at is None
    assert event_kinds(session, ticket.id, SlaMetric.RESOLVE) == [K.STARTED, K.MET, K.REOPENED]


def test_cancelled_before_due_is_cancelled_after_due_stays_breached(session):
    calendar = round_the_clock(session)
    policy(session, calendar, own=60, resolve=240)
    logged = local(2026, 3, 2, 10)
    early = incident(
        session, logged, state=IncidentState.CANCELLED, cancelled_at=local(2026, 3, 2, 10, 30)
    )
    late = incident(
        session,
        logged,
        state=IncidentState.CANCELLED,
        acknowledged_at=local(2026, 3, 2, 10, 5),
        cancelled_at=local(2026, 3, 2, 16),
    )

    early_records = by_metric(sla.sync_incident(session, early, local(2026, 3, 5)))
    late_records = by_metric(sla.sync_incident(session, late, local(2026, 3, 5)))

    assert {r.state for r in early_records.values()} == {SlaState.CANCELLED}
    assert late_records[SlaMetric.OWN].state is SlaState.MET
    assert late_records[SlaMetric.RESOLVE].state is SlaState.BREACHED


def test_priority_change_recomputes_with_the_new_policy(session):
    calendar = round_the_clock(session)
    policy(session, calendar, Priority.P3, own=60, resolve=480)
    policy(session, calendar, Priority.P1, own=5, resolve=60)
    logged = local(2026, 3, 2, 10)
    ticket = incident(session, logged, Priority.P3)
    sla.sync_incident(session, ticket, logged + timedelta(minutes=10))

    ticket.priority = Priority.P1
    session.flush()
    records = by_metric(sla.sync_incident(session, ticket, logged + timedelta(minutes=20)))

    assert records[SlaMetric.RESOLVE].due_at == logged + timedelta(minutes=60)
    assert records[SlaMetric.RESOLVE].target_minutes == 60
    # Five minutes to own it had passed when the priority went up.
    assert records[SlaMetric.OWN].state is SlaState.BREACHED
    assert event_kinds(session, ticket.id, SlaMetric.OWN) == [K.STARTED, K.RECALCULATED, K.BREACH]


def test_no_policy_no_records_and_a_retired_policy_cancels_them(session):
    calendar = round_the_clock(session)
    logged = local(2026, 3, 2, 10)
    ticket = incident(session, logged, Priority.P4)
    assert sla.sync_incident(session, ticket, logged) == []

    made = policy(session, calendar, Priority.P4, own=60, resolve=480)
    assert {r.state for r in sla.sync_incident(session, ticket, logged)} == {SlaState.RUNNING}

    sla.update_policy(session, SYSTEM, made, PolicyPatch(active=False), now=logged)

    records = session.scalars(select(IncidentSla).where(IncidentSla.incident_id == ticket.id))
    assert {r.state for r in records} == {SlaState.CANCELLED}


def test_policy_target_change_reaches_open_incidents(session):
    calendar = round_the_clock(session)
    made = policy(session, calendar, Priority.P3, own=60, resolve=480)
    logged = local(2026, 3, 2, 10)
    ticket = incident(session, logged, Priority.P3)
    sla.sync_incident(session, ticket, logged)

    sla.update_policy(session, SYSTEM, made, PolicyPatch(time_to_resolve_minutes=600), now=logged)

    resolve = by_metric(session.scalars(select(IncidentSla)).all())[SlaMetric.RESOLVE]
    assert resolve.due_at == logged + timedelta(minutes=600)


def test_provisional_when_the_due_time_falls_in_a_predicted_year(session):
    year = unpublished_year()
    office = office_calendar(session)
    policy(session, office, Priority.P3, own=30, resolve=480)
    ticket = incident(session, local(year - 1, 12, 31, 17), Priority.P3)

    resolve = by_metric(sla.sync_incident(session, ticket, local(year - 1, 12, 31, 18)))[
        SlaMetric.RESOLVE
    ]

    assert resolve.due_at is not None
    assert resolve.due_at.year == year
    assert resolve.provisional is True


def test_due_time_may_land_on_a_make_up_saturday(session):
    # Friday 9 October 2026, 17:30; Saturday the 10th is worked (国庆节调休).
    office = office_calendar(session)
    policy(session, office, Priority.P3, own=30, resolve=480)
    ticket = incident(session, local(2026, 10, 9, 17, 30), Priority.P3)

    resolve = by_metric(sla.sync_incident(session, ticket, local(2026, 10, 9, 18)))[
        SlaMetric.RESOLVE
    ]

    assert resolve.due_at == local(2026, 10, 10, 16)
    assert resolve.due_at.astimezone(SHANGHAI).weekday() == 5
