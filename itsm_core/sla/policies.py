"""SLA policies: create and edit; matching and precedence are in ``matching``.

Two active policies may not share the same match (priority, CI class, service): one of
them would silently never apply. Every change is audited and re-derives the SLA records
of the open incidents of the priorities it touches.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from itsm_core import audit
from itsm_core.actor import Actor
from itsm_core.cmdb.classes import BUSINESS_SERVICE, get_class
from itsm_core.cmdb.models import ConfigurationItem
from itsm_core.errors import Conflict, NotFound, ValidationFailed
from itsm_core.sla.calendar_cache import business_calendar
from itsm_core.sla.calendars import get_calendar
from itsm_core.sla.clock import due_at
from itsm_core.sla.models import SlaPolicy
from itsm_core.sla.resync import lock_for_priorities, resync
from itsm_core.sla.schemas import PolicyCreate, PolicyPatch
from itsm_core.timeutil import utcnow

_FIELDS = (
    "name",
    "description",
    "priority",
    "ci_class",
    "service_ci_id",
    "calendar_id",
    "time_to_own_minutes",
    "time_to_resolve_minutes",
    "active",
)


def get_policy(session: Session, policy_id: int, *, for_update: bool = False) -> SlaPolicy:
    """The policy, locked for the rest of the transaction when it is about to change."""
    policy = session.get(SlaPolicy, policy_id, with_for_update=True if for_update else None)
    if policy is None:
        raise NotFound(
            f"SLA policy {policy_id} does not exist", errors={"id": [f"no SLA policy {policy_id}"]}
        )
    return policy


def _view(policy: SlaPolicy) -> dict[str, Any]:
    return {field: getattr(policy, field) for field in _FIELDS}


def create_policy(
    session: Session, actor: Actor, data: PolicyCreate, *, now: datetime | None = None
) -> SlaPolicy:
    """Store a new policy and apply it to the open incidents it matches."""
    policy = SlaPolicy(**data.model_dump())
    _check(session, policy, now or utcnow())
    affected = lock_for_priorities(session, [policy.priority])
    session.add(policy)
    session.flush()
    audit.record(session, actor, "sla_policy.create", "sla_policy", policy.id, after=_view(policy))
    resync(session, affected, now or utcnow())
    return policy


def update_policy(
    session: Session,
    actor: Actor,
    policy: SlaPolicy,
    patch: PolicyPatch,
    *,
    now: datetime | None = None,
) -> SlaPolicy:
    """Apply the fields ``patch`` sets; re-derives the open incidents of the old and new
    priority (``active: false`` retires a policy; policies are never deleted)."""
    changes = patch.model_dump(exclude_unset=True)
    if not changes:
        return policy
    before = _view(policy)
    for field, value in changes.items():
        setattr(policy, field, value)
    # Validate before flushing, so a refused change never reaches the database.
    with session.no_autoflush:
        _check(session, policy, now or utcnow())
        affected = lock_for_priorities(session, {before["priority"], policy.priority})
    session.flush()
    audit.record(
        session,
        actor,
        "sla_policy.update",
        "sla_policy",
        policy.id,
        before=before,
        after=_view(policy),
    )
    resync(session, affected, now or utcnow())
    return policy


def _check(session: Session, policy: SlaPolicy, now: datetime) -> None:
    others = select(SlaPolicy).where(SlaPolicy.name == policy.name)
    if policy.id is not None:
        others = others.where(SlaPolicy.id != policy.id)
    if session.scalar(others) is not None:
        raise Conflict(f"SLA policy {policy.name!r} already exists", errors={"name": ["taken"]})
    if policy.ci_class is not None:
        get_class(policy.ci_class, "ci_class")
    if policy.service_ci_id is not None:
        _check_service(session, policy.service_ci_id)
    calendar = get_calendar(session, policy.calendar_id, "calendar_id")
    if policy.time_to_resolve_minutes < policy.time_to_own_minutes:
        raise ValidationFailed.on(
            "time_to_resolve_minutes", "must not be shorter than time_to_own_minutes"
        )
    try:
        due_at(now, timedelta(minutes=policy.time_to_resolve_minutes), business_calendar(calendar))
    except ValueError as exc:
        raise ValidationFailed.on(
            "time_to_resolve_minutes", f"calendar {calendar.name!r} never reaches it: {exc}"
        ) from exc
    if policy.active:
        _check_unique_match(session, policy)


def _check_service(session: Session, ci_id: int) -> None:
    ci_class = session.scalar(
        select(ConfigurationItem.ci_class).where(ConfigurationItem.id == ci_id)
    )
    if ci_class is None:
        raise NotFound(f"CI {ci_id} does not exist", errors={"service_ci_id": ["no such CI"]})
    if ci_class != BUSINESS_SERVICE:
        raise ValidationFailed.on(
            "service_ci_id", f"CI {ci_id} is a {ci_class}, not a {BUSINESS_SERVICE}"
        )


def _check_unique_match(session: Session, policy: SlaPolicy) -> None:
    same = select(SlaPolicy).where(
        SlaPolicy.active.is_(True),
        SlaPolicy.priority == policy.priority,
        SlaPolicy.ci_class.is_(None)
        if policy.ci_class is None
        else SlaPolicy.ci_class == policy.ci_class,
        SlaPolicy.service_ci_id.is_(None)
        if policy.service_ci_id is None
        else SlaPolicy.service_ci_id == policy.service_ci_id,
    )
    if policy.id is not None:
        same = same.where(SlaPolicy.id != policy.id)
    clash = session.scalar(same)
    if clash is not None:
        raise Conflict(
            f"active policy {clash.name!r} already matches the same incidents",
            errors={"priority": [f"same match as active policy {clash.name!r}"]},
        )
