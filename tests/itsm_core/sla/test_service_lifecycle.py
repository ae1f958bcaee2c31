"""The SLA records follow an incident driven through the incident domain functions.

Each step calls ``sync_incident`` afterwards, exactly as the incident service does once
it is wired to the SLA layer.
"""

from datetime import timedelta

from sqlalchemy import select

from itsm_core.actor import SYSTEM
from itsm_core.incidents import lifecycle, service
from itsm_core.incidents.choices import IncidentState, PendingReason, Priority, ResolutionCode
from itsm_core.incidents.schemas import IncidentCreate, IncidentPatch
from itsm_core.people import service as people
from itsm_core.people.roles import Role
from itsm_core.sla import service as sla
from itsm_core.sla.choices import SlaEventKind, SlaMetric, SlaState
from itsm_core.sla.models import SlaEvent
from itsm_core.timeutil import utcnow
from tests.itsm_core.sla.stored import policy, round_the_clock

S = IncidentState
K = SlaEventKind


def states(session, ticket):
    records = sla.sync_incident(session, ticket, utcnow())
    return {record.metric: record.state for record in records}


def kinds(session, ticket, metric):
    stmt = select(SlaEvent.kind).where(SlaEvent.incident_id == ticket.id, SlaEvent.metric == metric)
    return list(session.scalars(stmt.order_by(SlaEvent.id)))


def test_records_follow_the_lifecycle(session):
    calendar = round_the_clock(session)
    policy(session, calendar, Priority.P3, own=30, resolve=480)
    engineer = people.create_user(session, SYSTEM, "li.wei", roles={Role.ENGINEER})
    ticket = service.create_incident(
        session,
        SYSTEM,
        IncidentCreate(
            title="PACS viewer hangs", priority=Priority.P3, priority_reason="radiology is blocked"
        ),
    )
    assert states(session, ticket) == {
        SlaMetric.OWN: SlaState.RUNNING,
        SlaMetric.RESOLVE: SlaState.RUNNING,
    }

    ticket.assignee_id = engineer.id
    lifecycle.transition(session, SYSTEM, ticket, S.IN_PROGRESS)
    assert states(session, ticket)[SlaMetric.OWN] is SlaState.MET

    lifecycle.transition(
        session,
        SYSTEM,
        ticket,
        S.PENDING,
        reason="which workstation?",
        pending_category=PendingReason.REQUESTER,
    )
    assert states(session, ticket)[SlaMetric.RESOLVE] is SlaState.PAUSED

    lifecycle.transition(session, SYSTEM, ticket, S.IN_PROGRESS)
    assert states(session, ticket)[SlaMetric.RESOLVE] is SlaState.RUNNING

    lifecycle.transition(
        session,
        SYSTEM,
        ticket,
        S.RESOLVED,
        resolution_code=ResolutionCode.FIXED,
        resolution_notes="cleared the cache",
    )
    assert states(session, ticket)[SlaMetric.RESOLVE] is SlaState.MET

    lifecycle.transition(session, SYSTEM, ticket, S.IN_PROGRESS, reason="hangs again")
    assert states(session, ticket) == {
        SlaMetric.OWN: SlaState.MET,
        SlaMetric.RESOLVE: SlaState.RUNNING,
    }

    assert kinds(session, ticket, SlaMetric.RESOLVE) == [
        K.STARTED,
        K.PAUSED,
        K.RESUMED,
        K.MET,
        K.REOPENED,
    ]
    assert kinds(session, ticket, SlaMetric.OWN) == [K.STARTED, K.MET]


def test_pending_on_a_vendor_keeps_the_clock_running(session):
    calendar = round_the_clock(session)
    policy(session, calendar, Priority.P3, own=30, resolve=480)
    engineer = people.create_user(session, SYSTEM, "zhang.min", roles={Role.ENGINEER})
    ticket = service.create_incident(session, SYSTEM, IncidentCreate(title="LIS printer"))
    assert ticket.priority is Priority.P3
    ticket.assignee_id = engineer.id
    lifecycle.transition(session, SYSTEM, ticket, S.IN_PROGRESS)
    lifecycle.transition(
        session,
        SYSTEM,
        ticket,
        S.PENDING,
        reason="spare part",
        pending_category=PendingReason.VENDOR,
    )

    assert states(session, ticket)[SlaMetric.RESOLVE] is SlaState.RUNNING


def test_editing_the_priority_switches_policy_and_cancelling_stops_the_clocks(session):
    calendar = round_the_clock(session)
    policy(session, calendar, Priority.P3, own=30, resolve=480)
    urgent = policy(session, calendar, Priority.P1, own=5, resolve=60)
    ticket = service.create_incident(session, SYSTEM, IncidentCreate(title="EMR down"))
    sla.sync_incident(session, ticket, utcnow())

    service.update_incident(
        session,
        SYSTEM,
        ticket,
        IncidentPatch(priority=Priority.P1, priority_reason="whole ward affected"),
    )
    records = sla.sync_incident(session, ticket, utcnow())
    assert {record.policy_id for record in records} == {urgent.id}
    resolve = next(r for r in records if r.metric is SlaMetric.RESOLVE)
    assert resolve.due_at == ticket.created_at + timedelta(minutes=60)

    lifecycle.transition(session, SYSTEM, ticket, S.CANCELLED, reason="duplicate call")
    assert set(states(session, ticket).values()) == {SlaState.CANCELLED}
