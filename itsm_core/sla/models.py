"""ORM models of the SLA layer: calendars, policies, per-incident records and their events.

The pure modules (``definition``, ``calendar``, ``clock``) know nothing of the database;
a ``SlaCalendar`` row stores a ``CalendarDefinition`` as JSON and ``records`` turns it
into a ``BusinessCalendar`` (one per calendar version, shared).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from itsm_core.db import Base, enum_type
from itsm_core.incidents.choices import Priority
from itsm_core.sla.choices import SlaEventKind, SlaMetric, SlaState
from itsm_core.sla.definition import CalendarDefinition
from itsm_core.timeutil import utcnow


class SlaCalendar(Base):
    """A named business calendar; ``definition`` is a ``CalendarDefinition`` as JSON.

    ``version`` grows with every change, so a cached ``BusinessCalendar`` of an older
    version is never used again and each SLA record says which version it was computed on.
    """

    __tablename__ = "business_calendars"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    definition: Mapped[dict[str, Any]] = mapped_column()
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def parsed(self) -> CalendarDefinition:
        """The stored definition, validated."""
        return CalendarDefinition.model_validate(self.definition)


class SlaPolicy(Base):
    """Targets for incidents of one priority, optionally narrowed by CI class or service.

    Matching and precedence are in ``policies``: the most specific active policy wins.
    Targets are business minutes on ``calendar``.
    """

    __tablename__ = "sla_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    priority: Mapped[Priority] = mapped_column(enum_type(Priority))
    # The class of the incident's primary CI (a name from the CMDB class registry).
    ci_class: Mapped[str | None] = mapped_column(String(40))
    # A business-service CI that is the incident's primary or one of its affected CIs.
    service_ci_id: Mapped[int | None] = mapped_column(ForeignKey("cis.id"), index=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("business_calendars.id"), index=True)
    time_to_own_minutes: Mapped[int] = mapped_column()
    time_to_resolve_minutes: Mapped[int] = mapped_column()
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class IncidentSla(Base):
    """One clock of one incident (time to own or time to resolve), derived by ``records``.

    ``due_at`` and ``warning_at`` are null while an open pause stops the clock before
    they are reached. ``provisional`` says the due time rests on predicted holidays.
    ``breached_at`` is the due time that passed; ``met_at`` and ``stopped_at`` when the
    clock stopped for good (``met_at`` only when in time); ``warned_at`` when the
    at-risk warning was issued.
    """

    __tablename__ = "incident_slas"
    __table_args__ = (
        UniqueConstraint("incident_id", "metric"),
        # The background job's two scans: running records by due and by warning time.
        Index("ix_incident_slas_state_due_at", "state", "due_at"),
        Index("ix_incident_slas_state_warning_at", "state", "warning_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    metric: Mapped[SlaMetric] = mapped_column(enum_type(SlaMetric))
    policy_id: Mapped[int] = mapped_column(ForeignKey("sla_policies.id"), index=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("business_calendars.id"), index=True)
    calendar_version: Mapped[int] = mapped_column()
    target_minutes: Mapped[int] = mapped_column()
    warning_share: Mapped[float] = mapped_column()
    state: Mapped[SlaState] = mapped_column(enum_type(SlaState))
    started_at: Mapped[datetime] = mapped_column()
    due_at: Mapped[datetime | None] = mapped_column()
    warning_at: Mapped[datetime | None] = mapped_column()
    provisional: Mapped[bool] = mapped_column(default=False)
    stopped_at: Mapped[datetime | None] = mapped_column()
    met_at: Mapped[datetime | None] = mapped_column()
    breached_at: Mapped[datetime | None] = mapped_column()
    warned_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SlaEvent(Base):
    """Something that happened to an SLA clock: started, warning, breach, met, paused…

    ``at`` is when it happened (a breach at the due time), ``recorded_at`` when Fulcrum
    noticed (the background job may run a minute later).
    """

    __tablename__ = "sla_events"
    __table_args__ = (Index("ix_sla_events_incident_id_id", "incident_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    incident_sla_id: Mapped[int] = mapped_column(
        ForeignKey("incident_slas.id", ondelete="CASCADE"), index=True
    )
    metric: Mapped[SlaMetric] = mapped_column(enum_type(SlaMetric))
    kind: Mapped[SlaEventKind] = mapped_column(enum_type(SlaEventKind))
    at: Mapped[datetime] = mapped_column()
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
