"""ORM models of notifications: channels, the outbox of deliveries and every attempt.

A delivery is one message about one event to one channel. The alert pipeline and the
escalation job only insert deliveries (``outbox.notify_incident``); the dispatcher job
claims due ones, sends them outside any transaction and records each attempt, so a slow
or dead channel never holds a database lock or blocks ingestion.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from alerting.notifications.choices import ChannelKind, DeliveryStatus, Language, NotificationEvent
from itsm_core.db import Base, JSONType, enum_type
from itsm_core.timeutil import utcnow


class NotificationChannel(Base):
    """Where messages go: a WeCom or DingTalk group robot, a mailbox or a webhook.

    ``config`` holds the kind's public settings, ``secret`` its credentials (robot key,
    access token, SMTP password, webhook URL) — written through the API, never returned or
    logged. Empty ``group_ids``/``events``/``priorities`` mean "all".
    """

    __tablename__ = "notification_channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    kind: Mapped[ChannelKind] = mapped_column(enum_type(ChannelKind))
    enabled: Mapped[bool] = mapped_column(default=True)
    language: Mapped[Language] = mapped_column(enum_type(Language))
    group_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    events: Mapped[list[str]] = mapped_column(default=list)
    priorities: Mapped[list[str]] = mapped_column(default=list)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    secret: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:  # never the secret
        return f"NotificationChannel(id={self.id!r}, name={self.name!r}, kind={self.kind!r})"


class NotificationDelivery(Base):
    """One queued message (the outbox row) and its delivery state (the delivery log).

    ``context`` is the snapshot of the incident taken when the event happened;
    ``recipients`` the people it is addressed to (names, e-mail, mobile) for mentions and
    mail. Rendering happens at send time in the channel's language.
    """

    __tablename__ = "notification_deliveries"
    __table_args__ = (Index("ix_notification_deliveries_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int | None] = mapped_column(
        ForeignKey("notification_channels.id", ondelete="SET NULL"), index=True
    )
    channel_name: Mapped[str] = mapped_column(String(100))
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[NotificationEvent] = mapped_column(enum_type(NotificationEvent))
    context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    recipients: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_type(DeliveryStatus), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column()
    # Set while a dispatcher holds the row; a row past it is free to claim again.
    lease_until: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(String(1000))
    queued_at: Mapped[datetime] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DeliveryAttempt(Base):
    """One try at sending a delivery: when, whether it worked, and why not."""

    __tablename__ = "notification_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("notification_deliveries.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column()
    at: Mapped[datetime] = mapped_column()
    ok: Mapped[bool] = mapped_column()
    error: Mapped[str | None] = mapped_column(String(1000))
    duration_ms: Mapped[int] = mapped_column(default=0)
