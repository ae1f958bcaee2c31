"""ORM models of escalation: policies per priority and each incident's planned steps."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from alerting.escalation.choices import CancelReason, EscalationLevel, EscalationState
from itsm_core.db import Base, enum_type
from itsm_core.incidents.choices import Priority
from itsm_core.timeutil import utcnow


class EscalationPolicy(Base):
    """When an unaccepted incident of one priority climbs the ladder.

    Minutes count from the moment the incident became unaccepted (created, handed back,
    reopened); a null step is skipped. ``first/second_responsible_id`` stand in when the
    incident names nobody; ``management_group_id`` is the group told at the last step.
    A priority without a row uses the built-in default (``policies.DEFAULTS``).
    """

    __tablename__ = "escalation_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    priority: Mapped[Priority] = mapped_column(enum_type(Priority), unique=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    first_after_minutes: Mapped[int | None] = mapped_column()
    second_after_minutes: Mapped[int | None] = mapped_column()
    management_after_minutes: Mapped[int | None] = mapped_column()
    first_responsible_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    second_responsible_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    management_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="SET NULL")
    )
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class IncidentEscalation(Base):
    """One planned step of one incident: due at ``due_at``, fired or cancelled once.

    ``cycle_started_at`` is when the current unaccepted stretch began; a handover or a
    reopening starts a new stretch with its own steps, and the unique key (incident,
    stretch, level) lets concurrent planners insert the same step only once. Firing claims
    the row with ``UPDATE … WHERE fired_at IS NULL AND cancelled_at IS NULL`` in the same
    transaction as its effects, so a step fires exactly once across restarts and workers.
    """

    __tablename__ = "incident_escalations"
    __table_args__ = (
        UniqueConstraint("incident_id", "cycle_started_at", "level"),
        Index("ix_incident_escalations_due", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    cycle_started_at: Mapped[datetime] = mapped_column()
    level: Mapped[EscalationLevel] = mapped_column(enum_type(EscalationLevel))
    priority: Mapped[Priority] = mapped_column(enum_type(Priority))
    after_minutes: Mapped[int] = mapped_column()
    due_at: Mapped[datetime] = mapped_column()
    fired_at: Mapped[datetime | None] = mapped_column()
    cancelled_at: Mapped[datetime | None] = mapped_column()
    cancel_reason: Mapped[CancelReason | None] = mapped_column(enum_type(CancelReason))
    target_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    target_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="SET NULL")
    )

    @property
    def state(self) -> EscalationState:
        if self.fired_at is not None:
            return EscalationState.FIRED
        if self.cancelled_at is not None:
            return EscalationState.CANCELLED
        return EscalationState.ARMED
