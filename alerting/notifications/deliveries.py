"""Reading the delivery log, and queuing a failed delivery again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from alerting.notifications.choices import DeliveryStatus
from alerting.notifications.models import DeliveryAttempt, NotificationDelivery
from alerting.notifications.schemas import DeliveryQuery
from itsm_core import audit
from itsm_core.actor import Actor
from itsm_core.errors import Conflict, NotFound

D = NotificationDelivery


def delivery_query(query: DeliveryQuery) -> Select[Any]:
    """The log filtered by status, channel, incident and event (the caller orders/pages)."""
    stmt = select(D)
    if query.status is not None:
        stmt = stmt.where(D.status == query.status)
    if query.channel_id is not None:
        stmt = stmt.where(D.channel_id == query.channel_id)
    if query.incident_id is not None:
        stmt = stmt.where(D.incident_id == query.incident_id)
    if query.event is not None:
        stmt = stmt.where(D.event == query.event)
    return stmt


def get_delivery(session: Session, delivery_id: int) -> NotificationDelivery:
    delivery = session.get(D, delivery_id)
    if delivery is None:
        raise NotFound(
            f"delivery {delivery_id} does not exist", errors={"id": ["no such delivery"]}
        )
    return delivery


def attempts_of(session: Session, delivery: NotificationDelivery) -> list[DeliveryAttempt]:
    """Every attempt at ``delivery``, first first."""
    return list(
        session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id == delivery.id)
            .order_by(DeliveryAttempt.number, DeliveryAttempt.id)
        )
    )


def retry_delivery(
    session: Session, actor: Actor, delivery_id: int, now: datetime
) -> NotificationDelivery:
    """Queue a ``failed`` or ``cancelled`` delivery again, with a fresh attempt budget."""
    delivery = session.get(D, delivery_id, with_for_update=True)
    if delivery is None:
        raise NotFound(
            f"delivery {delivery_id} does not exist", errors={"id": ["no such delivery"]}
        )
    if delivery.status not in (DeliveryStatus.FAILED, DeliveryStatus.CANCELLED):
        raise Conflict(
            f"delivery {delivery_id} is {delivery.status}; only failed or cancelled ones retry",
            errors={"status": [f"is {delivery.status}"]},
        )
    if delivery.channel_id is None:
        raise Conflict(
            f"the channel of delivery {delivery_id} was deleted",
            errors={"channel_id": ["channel deleted"]},
        )
    before = {"status": delivery.status.value, "attempts": delivery.attempts}
    delivery.status = DeliveryStatus.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = now
    # A retry is a new chance to be sent: the expiry counts from now.
    delivery.queued_at = now
    delivery.lease_until = None
    session.flush()
    audit.record(
        session, actor, "notification_delivery.retry", "notification_delivery", delivery.id,
        before=before, after={"status": delivery.status.value, "attempts": 0},
    )  # fmt: skip
    return delivery
