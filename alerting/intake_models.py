"""ORM models of the alert intake: alerts, occurrences, deliveries, windows, the dead-man.

- ``alerts``: one row per (source, fingerprint), the alert as last seen. A repeat of a
  firing alert only bumps ``last_seen_at``/``duplicate_count``; a re-fire after
  resolution is a new row in ``alert_occurrences`` (``occurrence_count`` goes up).
- ``alert_incidents``: what the pipeline knows about an incident alerts joined: whether
  it resolves itself when all its alerts resolve (the routing decision), rule, fault type.
- ``webhook_deliveries``: a digest per delivery, so a retried delivery creates nothing.
- ``maintenance_windows`` and ``deadman_heartbeats``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from alerting.canonical import AlertSourceKind, AlertStatus, Severity
from alerting.choices import Binding, OccurrenceRole
from itsm_core.db import Base, JSONType, enum_type
from itsm_core.timeutil import utcnow


class Alert(Base):
    """One alert (per source and fingerprint) as last seen, bound to a CI and an incident."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("source", "fingerprint"),
        # "open alerts of this CI" (and "is this incident's own CI still alerting",
        # which must not scan a big incident's alerts), "firing alerts of this incident".
        Index("ix_alerts_ci_status", "ci_id", "status", "incident_id"),
        Index("ix_alerts_incident_status", "incident_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[AlertSourceKind] = mapped_column(enum_type(AlertSourceKind))
    fingerprint: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[AlertStatus] = mapped_column(enum_type(AlertStatus))
    severity: Mapped[Severity] = mapped_column(enum_type(Severity))
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    annotations: Mapped[dict[str, Any]] = mapped_column(default=dict)
    starts_at: Mapped[datetime] = mapped_column()
    ends_at: Mapped[datetime | None] = mapped_column()
    generator_url: Mapped[str | None] = mapped_column(Text)
    ci_id: Mapped[int | None] = mapped_column(ForeignKey("cis.id", ondelete="SET NULL"))
    binding: Mapped[Binding] = mapped_column(enum_type(Binding), default=Binding.NONE)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    first_seen_at: Mapped[datetime] = mapped_column()
    last_seen_at: Mapped[datetime] = mapped_column()
    occurrence_count: Mapped[int] = mapped_column(default=1)
    # Deliveries that repeated the current state (Alertmanager re-sends every interval).
    duplicate_count: Mapped[int] = mapped_column(default=0)
    flapping: Mapped[bool] = mapped_column(default=False)
    flapping_since: Mapped[datetime | None] = mapped_column()
    # Times (ISO) of the recent status changes, trimmed to the flapping window.
    transitions: Mapped[list[str]] = mapped_column(default=list)
    # Set while a maintenance window or a change in progress keeps it from paging.
    suppressed_reason: Mapped[str | None] = mapped_column(String(500))


class AlertOccurrence(Base):
    """One firing episode of an alert: from (re-)fire to resolution."""

    __tablename__ = "alert_occurrences"
    __table_args__ = (UniqueConstraint("alert_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column()
    started_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    received_at: Mapped[datetime] = mapped_column()
    resolved_received_at: Mapped[datetime | None] = mapped_column()
    role: Mapped[OccurrenceRole] = mapped_column(enum_type(OccurrenceRole))
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="SET NULL"), index=True
    )
    suppressed_reason: Mapped[str | None] = mapped_column(String(500))


class AlertIncident(Base):
    """The pipeline's facts about an incident that alerts opened or joined."""

    __tablename__ = "alert_incidents"

    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    )
    # False when alerts joined an incident people opened (it then never auto-resolves).
    opened_by_alert: Mapped[bool] = mapped_column()
    # The routing rule's choice: resolve when all alerts resolve, or wait for the NOC.
    auto_resolve: Mapped[bool] = mapped_column(default=False)
    rule_id: Mapped[int | None] = mapped_column(Integer)
    fault_type: Mapped[str | None] = mapped_column(String(100))
    # When an alert last opened, joined or re-fired into it (the correlation window).
    last_alert_at: Mapped[datetime] = mapped_column()
    # Set when all its alerts resolved; cleared when one fires again.
    alerts_resolved_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """The digest of one delivery's content: a repeated delivery is recognised and skipped."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[AlertSourceKind] = mapped_column(enum_type(AlertSourceKind))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    alert_count: Mapped[int] = mapped_column()
    received_by: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(index=True)


class MaintenanceWindow(Base):
    """A period in which the alerts of some CIs (or matching labels) open no incident.

    Scope: ``ci_ids`` (the alert's CI is one of them, or — with
    ``[alerting] maintenance_covers_downstream`` — downstream of one) and ``matchers``
    (every matcher matches the alert's labels); a window names at least one of the two,
    and an alert must satisfy each it names. The window is half-open ``[starts_at,
    ends_at)``.
    """

    __tablename__ = "maintenance_windows"
    __table_args__ = (Index("ix_maintenance_windows_period", "starts_at", "ends_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reason: Mapped[str] = mapped_column(String(500))
    starts_at: Mapped[datetime] = mapped_column()
    ends_at: Mapped[datetime] = mapped_column()
    ci_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    # [{"label": "site", "op": "=", "value": "xx"}], ops as in Alertmanager: = != =~ !~
    matchers: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    notes: Mapped[str] = mapped_column(Text, default="")


class DeadmanHeartbeat(Base):
    """The always-firing heartbeat alert (Alertmanager's Watchdog): when it last arrived.

    ``alarmed_for`` is the ``last_heartbeat_at`` an incident was opened for, so one gap
    opens one incident even if the NOC resolves it before the heartbeat returns.
    """

    __tablename__ = "deadman_heartbeats"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    first_heartbeat_at: Mapped[datetime] = mapped_column()
    last_heartbeat_at: Mapped[datetime] = mapped_column()
    heartbeat_count: Mapped[int] = mapped_column(default=0)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    alarmed_for: Mapped[datetime | None] = mapped_column()
