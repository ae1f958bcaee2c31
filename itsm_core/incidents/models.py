"""ORM models of incidents: the ticket, its affected CIs, timeline and pending periods."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from itsm_core.db import Base, enum_type
from itsm_core.incidents.choices import (
    IncidentKind,
    IncidentSource,
    IncidentState,
    Level,
    PendingReason,
    Priority,
    ResolutionCode,
    TimelineKind,
)
from itsm_core.timeutil import utcnow

NUMBER_PREFIX = "INC"


def format_number(incident_id: int) -> str:
    """The number people say on the phone: ``INC000123``."""
    return f"{NUMBER_PREFIX}{incident_id:06d}"


class Incident(Base):
    """One incident, consultation or complaint, from report to closure.

    Lifecycle timestamps are written by ``lifecycle.transition`` only, so the SLA clock
    and the KPIs read facts, not guesses: ``assigned_at`` and ``acknowledged_at`` keep
    their *first* value through reassignments and reopenings.
    """

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_state_priority", "state", "priority"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[IncidentKind] = mapped_column(
        enum_type(IncidentKind), default=IncidentKind.INCIDENT
    )
    source: Mapped[IncidentSource] = mapped_column(enum_type(IncidentSource))
    state: Mapped[IncidentState] = mapped_column(
        enum_type(IncidentState), default=IncidentState.NEW
    )
    impact: Mapped[Level] = mapped_column(enum_type(Level))
    urgency: Mapped[Level] = mapped_column(enum_type(Level))
    priority: Mapped[Priority] = mapped_column(enum_type(Priority))
    # Set when someone chose the priority instead of the matrix; says why.
    priority_override_reason: Mapped[str | None] = mapped_column(String(500))

    # Who reported it (often a clinician on the phone, not a Fulcrum user).
    requester_name: Mapped[str] = mapped_column(String(200), default="")
    requester_contact: Mapped[str] = mapped_column(String(200), default="")
    requester_department: Mapped[str] = mapped_column(String(200), default="")

    assignment_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="SET NULL"), index=True
    )
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    first_responsible_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    second_responsible_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    primary_ci_id: Mapped[int | None] = mapped_column(
        ForeignKey("cis.id", ondelete="SET NULL"), index=True
    )

    # A major incident is the parent of the incidents it caused; one level deep.
    major: Mapped[bool] = mapped_column(default=False)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="SET NULL"), index=True
    )
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="SET NULL"), index=True
    )

    # The current pause, if any (history is in incident_pending_periods).
    pending_reason: Mapped[str | None] = mapped_column(String(500))
    pending_category: Mapped[PendingReason | None] = mapped_column(enum_type(PendingReason))
    resolution_code: Mapped[ResolutionCode | None] = mapped_column(enum_type(ResolutionCode))
    resolution_notes: Mapped[str | None] = mapped_column(Text)
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    reopen_count: Mapped[int] = mapped_column(default=0)

    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    assigned_at: Mapped[datetime | None] = mapped_column()
    acknowledged_at: Mapped[datetime | None] = mapped_column()
    resolved_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    cancelled_at: Mapped[datetime | None] = mapped_column()

    affected: Mapped[list[IncidentCI]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="IncidentCI.ci_id"
    )
    children: Mapped[list[Incident]] = relationship(
        foreign_keys=[parent_id], lazy="selectin", order_by="Incident.id", join_depth=1
    )

    @property
    def number(self) -> str:
        return format_number(self.id)

    @property
    def affected_ci_ids(self) -> list[int]:
        return sorted(link.ci_id for link in self.affected)

    @property
    def pending_on_requester(self) -> bool:
        return self.pending_category == PendingReason.REQUESTER


class IncidentCI(Base):
    """A CI affected by an incident (besides, or as well as, its primary CI)."""

    __tablename__ = "incident_cis"

    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    )
    ci_id: Mapped[int] = mapped_column(
        ForeignKey("cis.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class TimelineEntry(Base):
    """One line of an incident's history: a work note, a state change, a system event."""

    __tablename__ = "incident_timeline"
    __table_args__ = (Index("ix_incident_timeline_incident_at", "incident_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    kind: Mapped[TimelineKind] = mapped_column(enum_type(TimelineKind))
    body: Mapped[str] = mapped_column(Text, default="")
    from_state: Mapped[IncidentState | None] = mapped_column(enum_type(IncidentState))
    to_state: Mapped[IncidentState | None] = mapped_column(enum_type(IncidentState))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class PendingPeriod(Base):
    """One stretch in ``pending``: when it began and ended, and why.

    The SLA clock pauses for the periods with ``on_requester`` set; ``ended_at`` is null
    while the incident is still pending.
    """

    __tablename__ = "incident_pending_periods"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    started_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    category: Mapped[PendingReason] = mapped_column(enum_type(PendingReason))
    on_requester: Mapped[bool] = mapped_column()
    reason: Mapped[str] = mapped_column(String(500))
