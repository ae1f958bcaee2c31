"""Queuing: which channels get an event, what the snapshot holds, and that it only queues."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from alerting.notifications.choices import DeliveryStatus, NotificationEvent
from alerting.notifications.models import NotificationDelivery
from alerting.notifications.outbox import notify_incident
from itsm_core.actor import SYSTEM
from itsm_core.incidents import lifecycle, service
from itsm_core.incidents.choices import IncidentState
from tests.alerting.notifications import factories as f
from tests.itsm_core.incidents import factories as inc

NOW = datetime(2026, 11, 22, 1, 30, tzinfo=UTC)
HOOK = "http://127.0.0.1:9/never-called"


def test_channels_filter_by_event_priority_and_group(session: Session) -> None:
    network = inc.group(session, "network")
    managers = inc.group(session, "managers")
    f.webhook(session, HOOK, name="everything")
    f.webhook(session, HOOK, name="escalations only", events=["escalated"])
    f.webhook(session, HOOK, name="P1 only", priorities=["P1"])
    f.webhook(session, HOOK, name="network", group_ids=[network.id])
    f.webhook(session, HOOK, name="managers", group_ids=[managers.id])
    f.webhook(session, HOOK, name="off", enabled=False)
    p3 = inc.incident(session, assignment_group_id=network.id)  # medium x medium: P3

    opened = notify_incident(session, p3, NotificationEvent.OPENED, NOW)
    escalated = notify_incident(session, p3, NotificationEvent.ESCALATED, NOW, groups=[managers.id])

    assert [d.channel_name for d in opened] == ["everything", "network"]
    assert [d.channel_name for d in escalated] == [
        "everything",
        "escalations only",
        "network",
        "managers",
    ]
    assert {(d.status, d.attempts, d.next_attempt_at) for d in opened + escalated} == {
        (DeliveryStatus.PENDING, 0, NOW)
    }


def test_an_email_channel_needs_someone_to_write_to(session: Session) -> None:
    f.channel(
        session,
        "email",
        {},
        name="people only",
        config={"smtp_host": "127.0.0.1", "smtp_port": 25, "notify_recipients": True},
    )
    with_mail = inc.user(session, "li")
    with_mail.email = "li@hospital.example"
    without_mail = inc.user(session, "wang")
    incident = inc.incident(session)

    assert notify_incident(session, incident, NotificationEvent.OPENED, NOW) == []
    assert (
        notify_incident(
            session, incident, NotificationEvent.ESCALATED, NOW, recipients=[without_mail.id]
        )
        == []
    )
    (queued,) = notify_incident(
        session, incident, NotificationEvent.ESCALATED, NOW, recipients=[with_mail.id]
    )
    assert queued.recipients["people"][0]["email"] == "li@hospital.example"


def test_the_snapshot_keeps_what_was_true_when_it_happened(session: Session) -> None:
    f.webhook(session, HOOK)
    zhang = inc.user(session, "zhangwei")
    zhang.display_name, zhang.phone = "张伟", "13800138000"
    network = inc.group(session, "网络组", zhang)
    ci = inc.ci(session, "core-sw-01")
    incident = inc.incident(
        session,
        title="核心交换机宕机",
        assignment_group_id=network.id,
        first_responsible_id=zhang.id,
        primary_ci_id=ci,
    )

    (queued,) = notify_incident(
        session,
        incident,
        NotificationEvent.ESCALATED,
        NOW,
        recipients=[zhang.id],
        details={"level": "first_responsible", "after_minutes": 15},
    )
    lifecycle.transition(session, SYSTEM, incident, IncidentState.CANCELLED, reason="dup")

    assert queued.context | {"created_at": None} == {
        "number": incident.number,
        "title": "核心交换机宕机",
        "priority": "P3",
        "state": "assigned",
        "kind": "incident",
        "ci": "core-sw-01",
        "group": "网络组",
        "assignee": None,
        "first_responsible": "张伟",
        "second_responsible": None,
        "created_at": None,
        "at": NOW.isoformat(),
        "level": "first_responsible",
        "after_minutes": 15,
    }
    (person,) = queued.recipients["people"]
    assert (person["name"], person["mobile"]) == ("张伟", "13800138000")


def test_queuing_is_part_of_the_callers_transaction(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        f.webhook(session, HOOK)
        incident_id = inc.incident(session).id
    with sessions() as session:
        with session.begin():
            incident = service.get_incident(session, incident_id)
            assert len(notify_incident(session, incident, NotificationEvent.OPENED, NOW)) == 1
            session.rollback()
        count = session.scalar(select(func.count()).select_from(NotificationDelivery))
    assert count == 0
