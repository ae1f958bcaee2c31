"""Escalation policies per priority: the built-in defaults and the administrator's rows.

Every priority always has a policy in force: its row in ``escalation_policies`` if an
administrator set one, else the default below. Defaults (minutes unaccepted before the
first responsible, the second responsible and management are told)::

    P1   5 / 15 /  30
    P2  15 / 30 /  60
    P3  30 / 60 / 240      (30 min: the "unaccepted for over 30 minutes" KPI of seed 003)
    P4 120 / 480 / —
    P5  no escalation
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerting.escalation.choices import EscalationLevel
from alerting.escalation.models import EscalationPolicy
from alerting.escalation.schemas import PolicyIn, PolicyOut
from itsm_core import audit
from itsm_core.actor import Actor
from itsm_core.incidents.choices import Priority
from itsm_core.incidents.service import group_ref, user_ref

L = EscalationLevel


@dataclass(frozen=True, slots=True)
class Policy:
    """The policy in force for one priority (a stored row or a built-in default)."""

    priority: Priority
    enabled: bool
    first_after_minutes: int | None
    second_after_minutes: int | None
    management_after_minutes: int | None
    first_responsible_id: int | None = None
    second_responsible_id: int | None = None
    management_group_id: int | None = None
    configured: bool = False
    updated_by: str | None = None
    updated_at: datetime | None = None

    def steps(self) -> dict[EscalationLevel, int]:
        """Minutes after which each level fires; empty when the policy is off."""
        if not self.enabled:
            return {}
        minutes = {
            L.FIRST_RESPONSIBLE: self.first_after_minutes,
            L.SECOND_RESPONSIBLE: self.second_after_minutes,
            L.MANAGEMENT: self.management_after_minutes,
        }
        return {level: m for level, m in minutes.items() if m is not None}

    def out(self) -> PolicyOut:
        return PolicyOut(
            priority=self.priority,
            enabled=self.enabled,
            first_after_minutes=self.first_after_minutes,
            second_after_minutes=self.second_after_minutes,
            management_after_minutes=self.management_after_minutes,
            first_responsible_id=self.first_responsible_id,
            second_responsible_id=self.second_responsible_id,
            management_group_id=self.management_group_id,
            configured=self.configured,
            updated_by=self.updated_by,
            updated_at=self.updated_at,
        )


P = Priority
DEFAULTS: dict[Priority, Policy] = {
    P.P1: Policy(P.P1, True, 5, 15, 30),
    P.P2: Policy(P.P2, True, 15, 30, 60),
    P.P3: Policy(P.P3, True, 30, 60, 240),
    P.P4: Policy(P.P4, True, 120, 480, None),
    P.P5: Policy(P.P5, False, None, None, None),
}


def _of_row(row: EscalationPolicy) -> Policy:
    return Policy(
        priority=row.priority,
        enabled=row.enabled,
        first_after_minutes=row.first_after_minutes,
        second_after_minutes=row.second_after_minutes,
        management_after_minutes=row.management_after_minutes,
        first_responsible_id=row.first_responsible_id,
        second_responsible_id=row.second_responsible_id,
        management_group_id=row.management_group_id,
        configured=True,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
    )


def policies_in_force(session: Session) -> dict[Priority, Policy]:
    """Every priority's policy, in priority order."""
    rows = {row.priority: row for row in session.scalars(select(EscalationPolicy))}
    return {p: _of_row(rows[p]) if p in rows else DEFAULTS[p] for p in Priority}


def policy_for(session: Session, priority: Priority) -> Policy:
    row = session.scalar(select(EscalationPolicy).where(EscalationPolicy.priority == priority))
    return _of_row(row) if row is not None else DEFAULTS[priority]


def _view(policy: Policy) -> dict[str, object]:
    return policy.out().model_dump(mode="json", exclude={"updated_at", "updated_by"})


def set_policy(session: Session, actor: Actor, priority: Priority, data: PolicyIn) -> Policy:
    """Store the policy of ``priority`` (replacing a default or an earlier one).

    The escalation job applies it to unaccepted incidents on its next run: steps not yet
    fired move to the new times; steps already fired stay fired.
    """
    for field in ("first_responsible_id", "second_responsible_id"):
        if getattr(data, field) is not None:
            user_ref(session, getattr(data, field), field)
    if data.management_group_id is not None:
        group_ref(session, data.management_group_id, "management_group_id")
    before = policy_for(session, priority)
    row = session.scalar(
        select(EscalationPolicy).where(EscalationPolicy.priority == priority).with_for_update()
    )
    if row is None:
        row = EscalationPolicy(priority=priority, updated_by=actor.name)
        session.add(row)
    for field, value in data.model_dump().items():
        setattr(row, field, value)
    row.updated_by = actor.name
    session.flush()
    after = _of_row(row)
    audit.record(
        session,
        actor,
        "escalation_policy.set",
        "escalation_policy",
        priority.value,
        before=_view(before),
        after=_view(after),
    )
    return after


def reset_policy(session: Session, actor: Actor, priority: Priority) -> Policy:
    """Drop the stored policy of ``priority``: the built-in default applies again."""
    row = session.scalar(select(EscalationPolicy).where(EscalationPolicy.priority == priority))
    if row is None:
        return DEFAULTS[priority]
    before = _of_row(row)
    session.delete(row)
    session.flush()
    audit.record(
        session,
        actor,
        "escalation_policy.reset",
        "escalation_policy",
        priority.value,
        before=_view(before),
        after=_view(DEFAULTS[priority]),
    )
    return DEFAULTS[priority]
