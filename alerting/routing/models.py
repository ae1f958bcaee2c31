"""ORM models of routing: the ordered rules, the contingency plans they name, and the
generation token that tells every process its compiled rule set is stale."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from itsm_core.db import Base, JSONType, enum_type
from itsm_core.incidents.choices import IncidentKind, Level
from itsm_core.timeutil import utcnow


class ContingencyPlan(Base):
    """A 预案: the prepared steps for a typical fault, named so rules can point at it."""

    __tablename__ = "contingency_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    # Free text in Chinese and/or English: what the on-call engineer does, in order.
    steps: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RoutingRule(Base):
    """One routing rule: conditions on an alert and its CI → what the incident gets.

    Rules are tried by ascending ``position`` (then id); the first enabled rule whose
    every condition holds decides. An empty condition list means "any". ``matchers`` is a
    list of ``{label, op, value}``; ``site_ids`` are CIs of class ``site``; a NULL
    ``urgency`` means "from the alert's severity". References to groups, users and plans
    are foreign keys without cascade: deleting something a rule uses is refused.
    """

    __tablename__ = "routing_rules"
    __table_args__ = (Index("ix_routing_rules_position", "position", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(String(1000), default="")
    position: Mapped[int] = mapped_column()
    enabled: Mapped[bool] = mapped_column(default=True)
    # Conditions.
    matchers: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    severities: Mapped[list[str]] = mapped_column(default=list)
    ci_classes: Mapped[list[str]] = mapped_column(default=list)
    site_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    site_kinds: Mapped[list[str]] = mapped_column(default=list)
    # Outcome.
    fault_type: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[IncidentKind] = mapped_column(
        enum_type(IncidentKind), default=IncidentKind.INCIDENT
    )
    assignment_group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"), index=True)
    first_responsible_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    second_responsible_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    urgency: Mapped[Level | None] = mapped_column(enum_type(Level))
    # The CMDB decides impact; a rule may only raise it to at least this.
    min_impact: Mapped[Level | None] = mapped_column(enum_type(Level))
    contingency_plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("contingency_plans.id"), index=True
    )
    auto_resolve: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RoutingGeneration(Base):
    """A single row whose ``token`` changes with every write to rules or plans.

    Each process caches its compiled rule set under the token it was built from and
    compares tokens once per transaction: one primary-key read instead of reloading
    the rules for every alert. A random token (not a counter) cannot repeat after the
    tables are emptied or restored.
    """

    __tablename__ = "routing_generation"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    token: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
