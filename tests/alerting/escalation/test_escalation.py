"""Escalation: steps planned per priority, fired exactly once, stopped by acceptance.

Due times count from the incident's real creation time (or the real time of a handover),
so each test passes ``now`` relative to those stored instants, never the wall clock.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerting.escalation import policies
from alerting.escalation.choices import CancelReason, EscalationLevel, EscalationState
from alerting.escalation.evaluation import claim, evaluate_escalations
from alerting.escalation.models import IncidentEscalation
from alerting.escalation.schemas import PolicyIn
from alerting.notifications.models import NotificationDelivery
from itsm_core.actor import SYSTEM
from itsm_core.db import make_engine, make_session_factory, unit_of_work
from itsm_core.incidents import lifecycle, service, timeline
from itsm_core.incidents.choices import IncidentState, Priority, ResolutionCode, TimelineKind
from itsm_core.incidents.models import Incident
from itsm_core.incidents.schemas import IncidentPatch
from itsm_core.settings import Settings
from tests.alerting.notifications import factories as f
from tests.itsm_core.incidents import factories as inc

L = EscalationLevel
HOOK = "http://127.0.0.1:9/never-called"


def _p1(session: Session, **fields: Any) -> Incident:
    """A P1 (high x high) incident of a network group; P1 steps: 5 / 15 / 30 minutes."""
    network = inc.group(session, None, inc.user(session))
    return inc.incident(
        session, impact="high", urgency="high", assignment_group_id=network.id, **fields
    )


def _run(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> list[L]:
    with unit_of_work(sessions) as session:
        return [fired.level for fired in evaluate_escalations(session, settings, now)]


def _steps(session: Session, incident_id: int) -> list[IncidentEscalation]:
    return list(
        session.scalars(
            select(IncidentEscalation)
            .where(IncidentEscalation.incident_id == incident_id)
            .order_by(IncidentEscalation.id)
            .execution_options(populate_existing=True)
        )
    )


def _created(sessions: sessionmaker[Session], **fields: Any) -> tuple[int, datetime]:
    with sessions() as session, session.begin():
        incident = _p1(session, **fields)
        return incident.id, incident.created_at


def test_steps_are_planned_from_creation_by_priority(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    incident_id, created = _created(sessions)

    assert _run(sessions, settings, created + timedelta(minutes=1)) == []

    with sessions() as session:
        steps = _steps(session, incident_id)
    assert [(s.level, s.due_at - created, s.state) for s in steps] == [
        (L.FIRST_RESPONSIBLE, timedelta(minutes=5), EscalationState.ARMED),
        (L.SECOND_RESPONSIBLE, timedelta(minutes=15), EscalationState.ARMED),
        (L.MANAGEMENT, timedelta(minutes=30), EscalationState.ARMED),
    ]
    assert {s.cycle_started_at for s in steps} == {created}


def test_a_due_step_fires_once_across_runs_and_a_restart(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    incident_id, created = _created(sessions)

    assert _run(sessions, settings, created + timedelta(minutes=6)) == [L.FIRST_RESPONSIBLE]
    assert _run(sessions, settings, created + timedelta(minutes=7)) == []
    # "Restart": a new engine and session factory, as a new process would have.
    engine = make_engine(settings.database)
    try:
        restarted = make_session_factory(engine)
        assert _run(restarted, settings, created + timedelta(minutes=8)) == []
        assert _run(restarted, settings, created + timedelta(minutes=16)) == [L.SECOND_RESPONSIBLE]
    finally:
        engine.dispose()

    with sessions() as session:
        entries = timeline.entries(session, incident_id, [TimelineKind.ESCALATION])
        assert [e.data["level"] for e in entries] == ["first_responsible", "second_responsible"]
        assert entries[0].actor == "escalation"
        assert entries[0].at == created + timedelta(minutes=6)
        assert entries[0].body.startswith("Not accepted after 5 min (P1): escalated to first")


def test_a_late_run_fires_every_due_step_in_order(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    _, created = _created(sessions)
    assert _run(sessions, settings, created + timedelta(hours=2)) == [
        L.FIRST_RESPONSIBLE,
        L.SECOND_RESPONSIBLE,
        L.MANAGEMENT,
    ]
    assert _run(sessions, settings, created + timedelta(hours=3)) == []


def test_two_workers_at_once_fire_each_step_once(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    ids_and_times = [_created(sessions) for _ in range(3)]
    latest = max(created for _, created in ids_and_times)
    start = threading.Barrier(2, timeout=10)
    fired: list[list[L]] = []

    def worker() -> None:
        start.wait()
        fired.append(_run(sessions, settings, latest + timedelta(hours=1)))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(fired) == 2
    assert sum(len(levels) for levels in fired) == 9
    with sessions() as session:
        for incident_id, _ in ids_and_times:
            entries = timeline.entries(session, incident_id, [TimelineKind.ESCALATION])
            assert sorted(e.data["level"] for e in entries) == sorted(L)


def test_accepting_stops_the_ladder(sessions: sessionmaker[Session], settings: Settings) -> None:
    with sessions() as session, session.begin():
        engineer = inc.user(session)
        network = inc.group(session, None, engineer)
        incident = inc.incident(
            session, impact="high", urgency="high", assignment_group_id=network.id
        )
        incident_id, created = incident.id, incident.created_at
    assert _run(sessions, settings, created + timedelta(minutes=6)) == [L.FIRST_RESPONSIBLE]
    with sessions() as session, session.begin():
        incident = service.get_incident(session, incident_id)
        service.accept(session, inc.actor_of(engineer), incident)

    assert _run(sessions, settings, created + timedelta(hours=1)) == []

    with sessions() as session:
        steps = _steps(session, incident_id)
    assert [(s.state, s.cancel_reason) for s in steps] == [
        (EscalationState.FIRED, None),
        (EscalationState.CANCELLED, CancelReason.ACCEPTED),
        (EscalationState.CANCELLED, CancelReason.ACCEPTED),
    ]


def test_a_handover_starts_a_new_unaccepted_stretch(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    with sessions() as session, session.begin():
        first, second = inc.user(session), inc.user(session)
        network = inc.group(session, None, first, second)
        incident = inc.incident(
            session, impact="high", urgency="high", assignment_group_id=network.id
        )
        service.accept(session, inc.actor_of(first), incident)
        # Handed to a colleague: back to "assigned" until they accept.
        service.assign(session, SYSTEM, incident, assignee_id=second.id)
        assert incident.state == IncidentState.ASSIGNED
        incident_id = incident.id
        (handover,) = [
            e
            for e in timeline.entries(session, incident_id, [TimelineKind.STATE_CHANGE])
            if e.from_state == IncidentState.IN_PROGRESS
        ]
        handed_over_at = handover.at

    assert _run(sessions, settings, handed_over_at + timedelta(minutes=4)) == []
    assert _run(sessions, settings, handed_over_at + timedelta(minutes=5)) == [L.FIRST_RESPONSIBLE]
    with sessions() as session:
        assert {s.cycle_started_at for s in _steps(session, incident_id)} == {handed_over_at}


def test_resolved_and_child_incidents_do_not_escalate(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    with sessions() as session, session.begin():
        resolved = _p1(session)
        parent = _p1(session, title="major: township router down")
        parent.major = True
        child = _p1(session, title="village clinic CPE down")
        child.parent_id = parent.id
        created = max(i.created_at for i in (resolved, parent, child))
    assert _run(sessions, settings, created) == []
    with sessions() as session, session.begin():
        lifecycle.transition(
            session,
            SYSTEM,
            service.get_incident(session, resolved.id),
            IncidentState.RESOLVED,
            resolution_code=ResolutionCode.FIXED,
            resolution_notes="rebooted",
        )

    fired = _run(sessions, settings, created + timedelta(hours=1))

    assert fired == [L.FIRST_RESPONSIBLE, L.SECOND_RESPONSIBLE, L.MANAGEMENT]  # the parent's
    with sessions() as session:
        assert [s.cancel_reason for s in _steps(session, resolved.id)] == [CancelReason.CLOSED] * 3
        assert _steps(session, child.id) == []
        assert len(_steps(session, parent.id)) == 3


def test_priority_and_policy_changes_move_armed_steps(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    with sessions() as session, session.begin():
        incident = inc.incident(session)  # medium x medium: P3 (30 / 60 / 240)
        incident_id, created = incident.id, incident.created_at
    assert _run(sessions, settings, created + timedelta(minutes=6)) == []

    with sessions() as session, session.begin():
        incident = service.get_incident(session, incident_id)
        service.update_incident(
            session, SYSTEM, incident, IncidentPatch(impact="high", urgency="high")
        )
        assert incident.priority == Priority.P1
    assert _run(sessions, settings, created + timedelta(minutes=7)) == [L.FIRST_RESPONSIBLE]

    with sessions() as session, session.begin():
        policies.set_policy(
            session,
            SYSTEM,
            Priority.P1,
            PolicyIn(first_after_minutes=5, second_after_minutes=8, management_after_minutes=None),
        )
    assert _run(sessions, settings, created + timedelta(minutes=9)) == [L.SECOND_RESPONSIBLE]
    with sessions() as session:
        steps = _steps(session, incident_id)
    assert [(s.level, s.state, s.cancel_reason) for s in steps] == [
        (L.FIRST_RESPONSIBLE, EscalationState.FIRED, None),
        (L.SECOND_RESPONSIBLE, EscalationState.FIRED, None),
        (L.MANAGEMENT, EscalationState.CANCELLED, CancelReason.POLICY),
    ]
    assert steps[1].due_at == created + timedelta(minutes=8)


def test_escalation_can_be_switched_off(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    _, created = _created(sessions)
    off = Settings(
        {
            "database": {"url": settings.database.url.get_secret_value()},
            "escalation": {"enabled": False},
        }
    )
    assert _run(sessions, off, created + timedelta(hours=1)) == []
    with sessions() as session, session.begin():
        policies.set_policy(session, SYSTEM, Priority.P1, PolicyIn(enabled=False))
    assert _run(sessions, settings, created + timedelta(hours=1)) == []


def test_responsible_people_are_named_told_and_management_is_a_group(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    with sessions() as session, session.begin():
        on_call = inc.user(session, "oncall-li")
        on_call.phone = "13900139000"
        deputy = inc.user(session, "deputy-wang")
        boss, chief = inc.user(session, "boss-zhao"), inc.user(session, "chief-sun")
        managers = inc.group(session, "managers", boss, chief)
        policies.set_policy(
            session,
            SYSTEM,
            Priority.P1,
            PolicyIn(
                first_after_minutes=5,
                second_after_minutes=15,
                management_after_minutes=30,
                first_responsible_id=on_call.id,
            ),
        )
        f.webhook(session, HOOK, name="all")
        f.webhook(session, HOOK, name="managers room", group_ids=[managers.id])
        incident = _p1(session, second_responsible_id=deputy.id)
        incident_id, created = incident.id, incident.created_at

    assert _run(sessions, settings, created + timedelta(hours=1)) == [
        L.FIRST_RESPONSIBLE,
        L.SECOND_RESPONSIBLE,
        L.MANAGEMENT,
    ]

    with sessions() as session:
        incident = service.get_incident(session, incident_id)
        # The incident named no first responsible: the policy's stand-in is written on it.
        assert incident.first_responsible_id == on_call.id
        (change,) = timeline.entries(session, incident_id, [TimelineKind.FIELD_CHANGE])
        assert change.actor == "escalation"
        assert change.data["changes"] == {"first_responsible_id": [None, on_call.id]}
        steps = _steps(session, incident_id)
        assert [(s.target_user_id, s.target_group_id) for s in steps] == [
            (on_call.id, None),
            (deputy.id, None),
            (None, managers.id),
        ]
        deliveries = list(
            session.scalars(select(NotificationDelivery).order_by(NotificationDelivery.id))
        )
    told = [
        (d.channel_name, d.context["level"], [p["name"] for p in d.recipients["people"]])
        for d in deliveries
    ]
    assert told == [
        ("all", "first_responsible", ["oncall-li"]),
        ("all", "second_responsible", ["deputy-wang"]),
        ("all", "management", ["boss-zhao", "chief-sun"]),
        ("managers room", "management", ["boss-zhao", "chief-sun"]),
    ]
    assert deliveries[0].recipients["people"][0]["mobile"] == "13900139000"


def test_a_step_is_claimed_by_one_transaction_only(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    incident_id, created = _created(sessions)
    assert _run(sessions, settings, created) == []
    with sessions() as session:
        step_id = _steps(session, incident_id)[0].id
    start = threading.Barrier(2, timeout=10)
    claimed: list[bool] = []

    def worker() -> None:
        start.wait()
        with unit_of_work(sessions) as session:
            claimed.append(claim(session, step_id, created + timedelta(minutes=5)))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(claimed) == [False, True]
