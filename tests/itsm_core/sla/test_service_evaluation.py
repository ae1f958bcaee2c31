"""evaluate: the background job records each warning and each breach exactly once."""

from datetime import timedelta

from sqlalchemy import select

from itsm_core.audit.models import AuditEntry
from itsm_core.incidents import timeline
from itsm_core.incidents.choices import IncidentState, TimelineKind
from itsm_core.sla import service as sla
from itsm_core.sla.choices import SlaEventKind, SlaMetric, SlaState
from itsm_core.sla.models import IncidentSla, SlaEvent
from tests.itsm_core.sla.stored import incident, local, pending, policy, round_the_clock

K = SlaEventKind
LOGGED = local(2026, 3, 2, 10)


def resolve_record(session, ticket):
    return session.scalars(
        select(IncidentSla).where(
            IncidentSla.incident_id == ticket.id, IncidentSla.metric == SlaMetric.RESOLVE
        )
    ).one()


def events(session, ticket, kind):
    return session.scalars(
        select(SlaEvent).where(
            SlaEvent.incident_id == ticket.id,
            SlaEvent.metric == SlaMetric.RESOLVE,
            SlaEvent.kind == kind,
        )
    ).all()


def accepted(session, calendar, own=60, resolve=240):
    """A P3 logged at 10:00 and accepted at 10:05; resolve due 14:00, warning at 13:00."""
    policy(session, calendar, own=own, resolve=resolve)
    ticket = incident(
        session,
        LOGGED,
        state=IncidentState.IN_PROGRESS,
        acknowledged_at=LOGGED + timedelta(minutes=5),
    )
    sla.sync_incident(session, ticket, LOGGED + timedelta(minutes=5))
    return ticket


def test_warning_at_75_percent_then_breach_each_recorded_once(session):
    ticket = accepted(session, round_the_clock(session))
    record = resolve_record(session, ticket)
    assert record.warning_at == local(2026, 3, 2, 13)

    assert sla.evaluate(session, local(2026, 3, 2, 12, 59)) == sla.Evaluation()
    for minute in (0, 1, 30):
        sla.evaluate(session, local(2026, 3, 2, 13, minute))
    assert record.warned_at == local(2026, 3, 2, 13)
    assert record.state is SlaState.RUNNING
    assert len(events(session, ticket, K.WARNING)) == 1

    first = sla.evaluate(session, local(2026, 3, 2, 14))
    again = [sla.evaluate(session, local(2026, 3, 2, 14, minute)) for minute in (1, 2, 59)]

    assert first == sla.Evaluation(breaches=1)
    assert again == [sla.Evaluation()] * 3
    assert record.state is SlaState.BREACHED
    assert record.breached_at == local(2026, 3, 2, 14)
    (breach,) = events(session, ticket, K.BREACH)
    assert breach.at == local(2026, 3, 2, 14)
    assert len(events(session, ticket, K.WARNING)) == 1


def test_warning_and_breach_reach_the_audit_log_and_the_timeline(session):
    ticket = accepted(session, round_the_clock(session))
    sla.evaluate(session, local(2026, 3, 2, 13, 30))
    sla.evaluate(session, local(2026, 3, 2, 14, 30))

    actions = session.scalars(
        select(AuditEntry.action).where(
            AuditEntry.entity_type == "incident", AuditEntry.entity_id == str(ticket.id)
        )
    ).all()
    assert actions.count("sla.warning") == 1
    assert actions.count("sla.breach") == 1
    actors = session.scalars(
        select(AuditEntry.actor).where(AuditEntry.action.in_(["sla.warning", "sla.breach"]))
    ).all()
    assert set(actors) == {"system"}
    lines = timeline.entries(session, ticket.id, [TimelineKind.SYSTEM])
    assert [line.data["sla_event"] for line in lines] == ["warning", "breach"]
    assert "breached" in lines[1].body


def test_a_clock_found_overdue_gets_the_breach_only(session):
    ticket = accepted(session, round_the_clock(session))

    assert sla.evaluate(session, local(2026, 3, 3, 9)) == sla.Evaluation(breaches=1)
    assert events(session, ticket, K.WARNING) == []


def test_met_and_paused_clocks_are_left_alone(session):
    calendar = round_the_clock(session)
    ticket = accepted(session, calendar)
    pending(session, ticket, local(2026, 3, 2, 11))
    sla.sync_incident(session, ticket, local(2026, 3, 2, 11))

    run = sla.evaluate(session, local(2026, 3, 9))

    assert run == sla.Evaluation()
    assert resolve_record(session, ticket).state is SlaState.PAUSED


def test_the_configured_share_is_applied_before_warning(session):
    ticket = accepted(session, round_the_clock(session))

    run = sla.evaluate(session, local(2026, 3, 2, 13, 30), warning_share=0.9)

    record = resolve_record(session, ticket)
    assert run.resynced == 1
    assert run.warnings == 0
    assert record.warning_share == 0.9
    assert record.warning_at == local(2026, 3, 2, 13, 36)  # 90% of 4 h after 10:00
    assert record.warned_at is None
    later = sla.evaluate(session, local(2026, 3, 2, 13, 40), warning_share=0.9)
    assert later == sla.Evaluation(warnings=1)


def test_a_recalculation_that_moves_the_warning_later_re_arms_it(session):
    calendar = round_the_clock(session)
    ticket = accepted(session, calendar)
    sla.evaluate(session, local(2026, 3, 2, 13, 10))
    record = resolve_record(session, ticket)
    assert record.warned_at is not None

    # An hour on the requester, entered afterwards: warning moves to 14:00, due to 15:00.
    pending(session, ticket, local(2026, 3, 2, 11), local(2026, 3, 2, 12))
    sla.sync_incident(session, ticket, local(2026, 3, 2, 13, 15))

    assert record.warning_at == local(2026, 3, 2, 14)
    assert record.warned_at is None
    assert sla.evaluate(session, local(2026, 3, 2, 14)) == sla.Evaluation(warnings=1)
