"""Queue a notification about an incident; the dispatcher job delivers it with retries.

:func:`notify_incident` is what the alert pipeline and the escalation job call. It only
inserts outbox rows (``notification_deliveries``) in the caller's transaction and
flushes — no network, no template rendering — so a slow or failing channel can never
block ingestion. One row is queued per channel that wants the event:

- the channel is enabled;
- its ``events`` is empty or names the event;
- its ``priorities`` is empty or names the incident's priority;
- its ``group_ids`` is empty or names the incident's assignment group or one of the
  ``groups`` passed (an escalation passes the management group);
- an e-mail channel also needs someone to write to (fixed ``to`` addresses, or people).

The row keeps a snapshot of the incident (``context``) and of the people addressed
(``recipients``: name, e-mail, mobile), so the message says what was true when the
event happened, whatever changes before it is sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerting.notifications.choices import ChannelKind, DeliveryStatus, NotificationEvent
from alerting.notifications.models import NotificationChannel, NotificationDelivery
from itsm_core.actor import Actor
from itsm_core.cmdb.models import ConfigurationItem
from itsm_core.incidents.models import Incident
from itsm_core.people.models import Group, User

__all__ = ["NotificationEvent", "incident_context", "notify_incident", "queue_test"]


def _name(user: User | None) -> str | None:
    return (user.display_name or user.username) if user is not None else None


def incident_context(
    session: Session,
    incident: Incident,
    now: datetime,
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The snapshot a message is rendered from (names, not ids; times as ISO text)."""

    def user(user_id: int | None) -> str | None:
        return _name(session.get(User, user_id)) if user_id is not None else None

    group = (
        session.get(Group, incident.assignment_group_id)
        if incident.assignment_group_id is not None
        else None
    )
    ci = (
        session.get(ConfigurationItem, incident.primary_ci_id)
        if incident.primary_ci_id is not None
        else None
    )
    context: dict[str, Any] = {
        "number": incident.number,
        "title": incident.title,
        "priority": incident.priority.value,
        "state": incident.state.value,
        "kind": incident.kind.value,
        "ci": ci.name if ci is not None else None,
        "group": group.name if group is not None else None,
        "assignee": user(incident.assignee_id),
        "first_responsible": user(incident.first_responsible_id),
        "second_responsible": user(incident.second_responsible_id),
        "created_at": incident.created_at.isoformat(),
        "at": now.isoformat(),
    }
    context.update(details or {})
    return context


def recipient_snapshot(
    session: Session, user_ids: Iterable[int], group_ids: Iterable[int] = ()
) -> dict[str, Any]:
    """Contact points of the people addressed (active users only) and group mailboxes."""
    people = []
    for user_id in dict.fromkeys(user_ids):
        user = session.get(User, user_id)
        if user is None or not user.active:
            continue
        people.append(
            {
                "user_id": user.id,
                "name": _name(user),
                "email": user.email,
                "mobile": user.phone,
                "wecom_id": user.wecom_id,
            }
        )
    emails = []
    for group_id in dict.fromkeys(group_ids):
        group = session.get(Group, group_id)
        if group is not None and group.email:
            emails.append(group.email)
    return {"people": people, "group_emails": emails}


def _wants(
    channel: NotificationChannel,
    event: NotificationEvent,
    priority: str,
    audience: set[int],
    recipients: Mapping[str, Any],
) -> bool:
    if channel.events and event.value not in channel.events:
        return False
    if channel.priorities and priority not in channel.priorities:
        return False
    if channel.group_ids and not audience.intersection(channel.group_ids):
        return False
    if channel.kind == ChannelKind.EMAIL:
        has_people = any(p.get("email") for p in recipients["people"]) or bool(
            recipients["group_emails"]
        )
        return bool(channel.config.get("to")) or (
            bool(channel.config.get("notify_recipients", True)) and has_people
        )
    return True


def notify_incident(
    session: Session,
    incident: Incident,
    event: NotificationEvent,
    now: datetime,
    *,
    recipients: Sequence[int] = (),
    groups: Sequence[int] = (),
    details: Mapping[str, Any] | None = None,
) -> list[NotificationDelivery]:
    """Queue ``event`` about ``incident`` for every channel that wants it (flush only).

    ``recipients``: user ids the message is addressed to (mentioned on WeCom/DingTalk,
    mailed by e-mail channels); ``groups``: further groups whose channels should hear of
    it; ``details``: extra template values (an escalation's level and minutes).
    """
    channels = list(
        session.scalars(
            select(NotificationChannel)
            .where(NotificationChannel.enabled.is_(True))
            .order_by(NotificationChannel.id)
        )
    )
    if not channels:
        return []
    audience = {g for g in (incident.assignment_group_id, *groups) if g is not None}
    people = recipient_snapshot(session, recipients, groups)
    wanted = [c for c in channels if _wants(c, event, incident.priority.value, audience, people)]
    if not wanted:
        return []
    context = incident_context(session, incident, now, details)
    rows = [
        NotificationDelivery(
            channel_id=channel.id,
            channel_name=channel.name,
            incident_id=incident.id,
            event=event,
            context=context,
            recipients=people,
            status=DeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            queued_at=now,
        )
        for channel in wanted
    ]
    session.add_all(rows)
    session.flush()
    return rows


def queue_test(
    session: Session, channel: NotificationChannel, now: datetime, requested_by: Actor
) -> NotificationDelivery:
    """Queue a test message to ``channel`` (sent even if the channel is disabled).

    The person asking is its recipient: mentioned by the robots, mailed by an e-mail
    channel that mails people.
    """
    requester = [requested_by.user_id] if requested_by.user_id is not None else []
    row = NotificationDelivery(
        channel_id=channel.id,
        channel_name=channel.name,
        incident_id=None,
        event=NotificationEvent.TEST,
        context={"channel": channel.name, "at": now.isoformat()},
        recipients=recipient_snapshot(session, requester),
        status=DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        queued_at=now,
    )
    session.add(row)
    session.flush()
    return row
