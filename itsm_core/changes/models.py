"""ORM models of changes: the RFC, its links, approval requirements, votes, timeline, templates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from itsm_core.changes.choices import (
    ChangeState,
    ChangeType,
    Decision,
    EventKind,
    ReviewOutcome,
    Risk,
)
from itsm_core.cmdb.choices import Criticality
from itsm_core.db import Base, JSONType, enum_type
from itsm_core.timeutil import utcnow

NUMBER_PREFIX = "CHG"


def format_number(change_id: int) -> str:
    """The number people quote in the CAB meeting: ``CHG000123``."""
    return f"{NUMBER_PREFIX}{change_id:06d}"


class Change(Base):
    """A request for change (RFC) from draft to closure.

    The planned window is half-open, ``[planned_start, planned_end)``: a change ending at
    10:00 and one starting at 10:00 do not overlap. Both ends are set together or not at
    all (a draft may not have a window yet; approval needs one). ``state`` and the
    lifecycle timestamps are written by ``lifecycle`` only.
    """

    __tablename__ = "changes"
    __table_args__ = (
        Index("ix_changes_window", "planned_start", "planned_end"),
        CheckConstraint(
            "(planned_start IS NULL AND planned_end IS NULL)"
            " OR (planned_start IS NOT NULL AND planned_end IS NOT NULL"
            " AND planned_start < planned_end)",
            name="window",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    change_type: Mapped[ChangeType] = mapped_column(enum_type(ChangeType))
    state: Mapped[ChangeState] = mapped_column(
        enum_type(ChangeState), default=ChangeState.NEW, index=True
    )
    risk: Mapped[Risk] = mapped_column(enum_type(Risk))
    # Free classification, e.g. the remediation action ``vm.reboot``.
    category: Mapped[str] = mapped_column(String(64), default="")

    # The requester may be Fulcrum itself (a job), hence the name beside the id.
    requested_by: Mapped[str] = mapped_column(String(100))
    requester_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    implementer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("change_templates.id", ondelete="RESTRICT"), index=True
    )

    planned_start: Mapped[datetime | None] = mapped_column()
    planned_end: Mapped[datetime | None] = mapped_column()
    implementation_plan: Mapped[str] = mapped_column(Text, default="")
    backout_plan: Mapped[str] = mapped_column(Text, default="")
    # Problems do not exist yet: their ids are kept here until a ``problems`` table does.
    problem_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)

    # Why it was cancelled, declined, rejected or failed (the latest such reason).
    state_reason: Mapped[str | None] = mapped_column(Text)
    review_outcome: Mapped[ReviewOutcome | None] = mapped_column(enum_type(ReviewOutcome))
    review_notes: Mapped[str | None] = mapped_column(Text)

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column()
    actual_start: Mapped[datetime | None] = mapped_column()
    actual_end: Mapped[datetime | None] = mapped_column()
    failed_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()

    ci_links: Mapped[list[ChangeCI]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ChangeCI.ci_id"
    )
    incident_links: Mapped[list[ChangeIncident]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ChangeIncident.incident_id"
    )

    @property
    def number(self) -> str:
        return format_number(self.id)

    @property
    def ci_ids(self) -> list[int]:
        return [link.ci_id for link in self.ci_links]

    @property
    def incident_ids(self) -> list[int]:
        return [link.incident_id for link in self.incident_links]

    @property
    def has_window(self) -> bool:
        return self.planned_start is not None and self.planned_end is not None


class ChangeCI(Base):
    """A CI the change touches; a CI with changes on record cannot be deleted."""

    __tablename__ = "change_cis"

    change_id: Mapped[int] = mapped_column(
        ForeignKey("changes.id", ondelete="CASCADE"), primary_key=True
    )
    ci_id: Mapped[int] = mapped_column(
        ForeignKey("cis.id", ondelete="RESTRICT"), primary_key=True, index=True
    )


class ChangeIncident(Base):
    """An incident the change comes from or resolves."""

    __tablename__ = "change_incidents"

    change_id: Mapped[int] = mapped_column(
        ForeignKey("changes.id", ondelete="CASCADE"), primary_key=True
    )
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ApprovalRequirement(Base):
    """``required`` distinct members of ``group`` must approve (fixed at submission)."""

    __tablename__ = "change_approval_requirements"
    __table_args__ = (
        UniqueConstraint("change_id", "group_id"),
        CheckConstraint("required >= 1", name="required_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("changes.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="RESTRICT"))
    required: Mapped[int] = mapped_column()


class Approval(Base):
    """One person's vote on one change (one vote per person, enforced by the database).

    ``group_ids`` are the requirement groups the voter belonged to when voting: the seat
    the vote can fill does not move if group membership changes later.
    """

    __tablename__ = "change_approvals"
    __table_args__ = (UniqueConstraint("change_id", "approver_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("changes.id", ondelete="CASCADE"), index=True)
    approver_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    approver_name: Mapped[str] = mapped_column(String(100))
    decision: Mapped[Decision] = mapped_column(enum_type(Decision))
    comment: Mapped[str] = mapped_column(Text, default="")
    group_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ChangeEvent(Base):
    """One line of a change's history: creation, edit, move, vote, conflict."""

    __tablename__ = "change_events"
    __table_args__ = (Index("ix_change_events_change_at", "change_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("changes.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    kind: Mapped[EventKind] = mapped_column(enum_type(EventKind))
    message: Mapped[str] = mapped_column(Text, default="")
    from_state: Mapped[ChangeState | None] = mapped_column(enum_type(ChangeState))
    to_state: Mapped[ChangeState | None] = mapped_column(enum_type(ChangeState))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ChangeTemplate(Base):
    """A pre-approved standard change: what it does, where it may be applied, how to undo it.

    Conditions, all optional: every CI of the change must be of one of ``ci_classes``,
    carry every tag of ``ci_tags``, and be no more critical than ``max_criticality``.
    Templates are retired (``active = False``), never deleted: changes point at them.
    """

    __tablename__ = "change_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(64), default="")
    ci_classes: Mapped[list[str]] = mapped_column(default=list)
    ci_tags: Mapped[list[str]] = mapped_column(default=list)
    max_criticality: Mapped[Criticality | None] = mapped_column(enum_type(Criticality))
    default_risk: Mapped[Risk] = mapped_column(enum_type(Risk))
    default_duration_minutes: Mapped[int] = mapped_column(default=60)
    implementation_plan: Mapped[str] = mapped_column(Text)
    backout_plan: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
