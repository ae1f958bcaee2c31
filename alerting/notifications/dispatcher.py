"""The dispatcher job: send due deliveries, retry with back-off, log every attempt.

Driven by ``[notifications]`` (``FULCRUM_NOTIFICATIONS_…``): ``batch_size``,
``concurrency``, ``send_timeout_seconds``, ``max_attempts``, ``backoff_base_seconds``,
``backoff_max_seconds``, ``expire_after_minutes``, ``lease_seconds``.

One run has three steps, and no transaction is open while anything is sent:

1. **claim** (one short transaction): due rows — ``pending`` with ``next_attempt_at``
   reached, or ``sending`` whose lease ran out because their dispatcher died — are set
   to ``sending`` with a lease by one ``UPDATE … WHERE <still due> RETURNING id``, so two
   dispatchers never claim the same row. Rows whose channel is gone or disabled are
   cancelled, rows queued longer than ``expire_after_minutes`` ago fail.
2. **send**: channels in parallel (``concurrency`` threads), each channel's rows in
   order. After a channel's first failure its other rows wait for that row's retry
   instead of each waiting out a timeout — a dead channel costs one timeout per run and
   never holds up another channel.
3. **record** (one short transaction): the outcome of each row we still hold — ``sent``,
   a retry at ``now + backoff``, or ``failed`` after ``max_attempts`` — plus one
   ``notification_attempts`` row per attempt and, for sent or failed incident messages,
   a NOTIFICATION line on the incident's timeline.

Delivery is at least once: a dispatcher killed between sending and recording sends that
message again after the lease.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from alerting.notifications.choices import DeliveryStatus, NotificationEvent
from alerting.notifications.models import DeliveryAttempt, NotificationChannel, NotificationDelivery
from alerting.notifications.senders import Outgoing, SendResult, send
from alerting.notifications.settings import NotificationSettings
from itsm_core.actor import Actor
from itsm_core.db import unit_of_work
from itsm_core.incidents import timeline
from itsm_core.incidents.choices import TimelineKind
from itsm_core.incidents.models import Incident
from itsm_core.people.roles import Role
from itsm_core.settings import Settings
from itsm_core.timeutil import utcnow

log = logging.getLogger("fulcrum.notifications")
D = NotificationDelivery
ACTOR = Actor(name="notifications", roles=frozenset({Role.ADMIN}))


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one claimed row in this run (``deferred``: not attempted)."""

    outgoing: Outgoing
    result: SendResult
    deferred: bool = False
    defer_seconds: float = 0.0


def _due(now: datetime) -> Any:
    return or_(
        and_(D.status == DeliveryStatus.PENDING, D.next_attempt_at <= now),
        and_(D.status == DeliveryStatus.SENDING, D.lease_until < now),
    )


def _close(session: Session, row_id: int, status: DeliveryStatus, error: str) -> None:
    session.execute(
        update(D)
        .where(D.id == row_id)
        .values(status=status, lease_until=None, last_error=error)
        .execution_options(synchronize_session=False)
    )


def claim(
    session: Session,
    now: datetime,
    lease_until: datetime,
    config: NotificationSettings,
    only: Sequence[int] | None = None,
) -> list[Outgoing]:
    """Claim due rows (see step 1) and return what to send for each."""
    stmt = select(D.id).where(_due(now))
    if only is not None:
        stmt = stmt.where(D.id.in_(list(only)))
    ids = list(session.scalars(stmt.order_by(D.next_attempt_at, D.id).limit(config.batch_size)))
    if not ids:
        return []
    claimed = set(
        session.scalars(
            update(D)
            .where(D.id.in_(ids), _due(now))
            .values(status=DeliveryStatus.SENDING, lease_until=lease_until)
            .returning(D.id)
            .execution_options(synchronize_session=False)
        )
    )
    rows = session.execute(
        select(D, NotificationChannel)
        .outerjoin(NotificationChannel, NotificationChannel.id == D.channel_id)
        .where(D.id.in_(claimed))
        .order_by(D.next_attempt_at, D.id)
        .execution_options(populate_existing=True)
    ).all()
    expired_before = now - timedelta(minutes=config.expire_after_minutes)
    outgoing: list[Outgoing] = []
    for delivery, channel in rows:
        if channel is None:
            _close(session, delivery.id, DeliveryStatus.CANCELLED, "channel deleted")
        elif not channel.enabled and delivery.event != NotificationEvent.TEST:
            _close(session, delivery.id, DeliveryStatus.CANCELLED, "channel disabled")
        elif delivery.queued_at < expired_before:
            minutes = config.expire_after_minutes
            _close(
                session, delivery.id, DeliveryStatus.FAILED, f"expired: not sent in {minutes} min"
            )
        else:
            outgoing.append(
                Outgoing(
                    delivery_id=delivery.id,
                    attempts=delivery.attempts,
                    channel_id=channel.id,
                    channel_name=channel.name,
                    kind=channel.kind,
                    language=channel.language,
                    config=dict(channel.config),
                    secret=dict(channel.secret),
                    event=delivery.event,
                    context=dict(delivery.context),
                    recipients=dict(delivery.recipients),
                )
            )
    return outgoing


def _send_channel(batch: list[Outgoing], config: NotificationSettings) -> list[Outcome]:
    """One channel's rows in order; after a failure the rest wait for its retry."""
    outcomes: list[Outcome] = []
    for index, outgoing in enumerate(batch):
        result = send(outgoing, config)
        outcomes.append(Outcome(outgoing, result))
        if not result.ok:
            wait = config.backoff(outgoing.attempts + 1)
            note = SendResult(ok=False, error=f"deferred: the channel just failed: {result.error}")
            outcomes += [Outcome(o, note, True, wait) for o in batch[index + 1 :]]
            break
    return outcomes


def send_all(outgoing: list[Outgoing], config: NotificationSettings) -> list[Outcome]:
    """Send every claimed row, channels in parallel (step 2)."""
    by_channel: dict[int, list[Outgoing]] = {}
    for item in outgoing:
        by_channel.setdefault(item.channel_id, []).append(item)
    batches = list(by_channel.values())
    if len(batches) <= 1 or config.concurrency == 1:
        return [o for batch in batches for o in _send_channel(batch, config)]
    with ThreadPoolExecutor(
        max_workers=min(config.concurrency, len(batches)), thread_name_prefix="notify"
    ) as pool:
        done = pool.map(lambda batch: _send_channel(batch, config), batches)
        return [o for outcomes in done for o in outcomes]


def _note(session: Session, delivery_id: int, body: str, data: dict[str, Any]) -> None:
    incident_id = session.scalar(select(D.incident_id).where(D.id == delivery_id))
    incident = session.get(Incident, incident_id) if incident_id is not None else None
    if incident is not None:
        timeline.add_entry(session, ACTOR, incident, TimelineKind.NOTIFICATION, body, data=data)


def record(
    session: Session,
    outcomes: list[Outcome],
    now: datetime,
    lease_until: datetime,
    config: NotificationSettings,
) -> int:
    """Write each outcome of rows still held by this run (step 3); return how many were sent."""
    sent = 0
    for outcome in outcomes:
        out, result = outcome.outgoing, outcome.result
        held = and_(
            D.id == out.delivery_id,
            D.status == DeliveryStatus.SENDING,
            D.lease_until == lease_until,
        )
        attempts = out.attempts if outcome.deferred else out.attempts + 1
        values: dict[str, Any] = {"attempts": attempts, "lease_until": None}
        if result.ok:
            values |= {"status": DeliveryStatus.SENT, "sent_at": now, "last_error": None}
        elif outcome.deferred:
            retry_at = now + timedelta(seconds=outcome.defer_seconds)
            values |= {
                "status": DeliveryStatus.PENDING,
                "next_attempt_at": retry_at,
                "last_error": result.error,
            }
        elif attempts >= config.max_attempts:
            values |= {"status": DeliveryStatus.FAILED, "last_error": result.error}
        else:
            retry_at = now + timedelta(seconds=config.backoff(attempts))
            values |= {
                "status": DeliveryStatus.PENDING,
                "next_attempt_at": retry_at,
                "last_error": result.error,
            }
        changed = cast(
            CursorResult[Any],
            session.execute(
                update(D).where(held).values(**values).execution_options(synchronize_session=False)
            ),
        )
        if changed.rowcount != 1:
            log.warning("delivery %d was taken over by another dispatcher", out.delivery_id)
            continue
        if outcome.deferred:
            continue
        session.add(
            DeliveryAttempt(
                delivery_id=out.delivery_id,
                number=attempts,
                at=now,
                ok=result.ok,
                error=result.error,
                duration_ms=result.duration_ms,
            )
        )
        where = f"{out.kind.value} channel {out.channel_name!r}"
        data = {"delivery_id": out.delivery_id, "channel_id": out.channel_id, "event": out.event}
        if result.ok:
            sent += 1
            log.info("delivery %d sent to %s", out.delivery_id, where)
            _note(session, out.delivery_id, f"Notified {where} ({out.event.value})", data)
        elif values["status"] == DeliveryStatus.FAILED:
            log.warning(
                "delivery %d to %s failed for good after %d attempts: %s",
                out.delivery_id, where, attempts, result.error,
            )  # fmt: skip
            _note(
                session,
                out.delivery_id,
                f"Notification to {where} failed after {attempts} attempts: {result.error}",
                data | {"error": result.error},
            )
        else:
            log.info(
                "delivery %d to %s failed (attempt %d), retrying: %s",
                out.delivery_id, where, attempts, result.error,
            )  # fmt: skip
    session.flush()
    return sent


def dispatch_notifications(
    session_factory: sessionmaker[Session],
    settings: Settings,
    now: datetime | None = None,
    *,
    only: Sequence[int] | None = None,
) -> int:
    """Send what is due at ``now`` (``only``: just these deliveries); return how many were sent."""
    config = settings.section(NotificationSettings)
    now = now or utcnow()
    lease_until = now + timedelta(seconds=config.lease_seconds)
    with unit_of_work(session_factory) as session:
        outgoing = claim(session, now, lease_until, config, only)
    if not outgoing:
        return 0
    outcomes = send_all(outgoing, config)
    with unit_of_work(session_factory) as session:
        return record(session, outcomes, now, lease_until, config)
