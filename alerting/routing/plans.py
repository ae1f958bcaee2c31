"""Contingency plans (预案): create, edit, delete; every change is audited.

A plan in use by a rule cannot be deleted (the rule would silently lose it); renaming
one moves the routing generation because decisions carry the plan's name.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerting.routing import generation
from alerting.routing.models import ContingencyPlan, RoutingRule
from alerting.routing.schemas import PlanPatch, PlanSpec
from itsm_core import audit
from itsm_core.actor import Actor
from itsm_core.errors import Conflict, NotFound

_FIELDS = ("name", "title", "steps")


def _view(plan: ContingencyPlan) -> dict[str, Any]:
    return {field: getattr(plan, field) for field in _FIELDS}


def list_plans(session: Session) -> list[ContingencyPlan]:
    return list(session.scalars(select(ContingencyPlan).order_by(ContingencyPlan.name)))


def get_plan(session: Session, plan_id: int) -> ContingencyPlan:
    plan = session.get(ContingencyPlan, plan_id)
    if plan is None:
        raise NotFound(
            f"contingency plan {plan_id} does not exist",
            errors={"id": [f"no contingency plan {plan_id}"]},
        )
    return plan


def find_plan(session: Session, name: str) -> ContingencyPlan | None:
    return session.scalar(select(ContingencyPlan).where(ContingencyPlan.name == name))


def _check_name(session: Session, name: str, own_id: int | None) -> None:
    found = find_plan(session, name)
    if found is not None and found.id != own_id:
        raise Conflict(f"contingency plan {name!r} already exists", errors={"name": ["taken"]})


def create_plan(session: Session, actor: Actor, spec: PlanSpec) -> ContingencyPlan:
    _check_name(session, spec.name, None)
    plan = ContingencyPlan(**spec.model_dump())
    session.add(plan)
    session.flush()
    audit.record(
        session, actor, "contingency_plan.create", "contingency_plan", plan.id, after=_view(plan)
    )
    return plan


def update_plan(
    session: Session, actor: Actor, plan: ContingencyPlan, patch: PlanPatch | PlanSpec
) -> ContingencyPlan:
    """Apply the fields ``patch`` sets (a ``PlanSpec`` replaces them all)."""
    changes = patch.model_dump(exclude_unset=isinstance(patch, PlanPatch))
    before = _view(plan)
    if all(before[field] == value for field, value in changes.items()):
        return plan
    if "name" in changes:
        _check_name(session, changes["name"], plan.id)
    for field, value in changes.items():
        setattr(plan, field, value)
    session.flush()
    if before["name"] != plan.name:
        generation.bump(session)
    audit.record(
        session,
        actor,
        "contingency_plan.update",
        "contingency_plan",
        plan.id,
        before=before,
        after=_view(plan),
    )
    return plan


def delete_plan(session: Session, actor: Actor, plan: ContingencyPlan) -> None:
    users = session.scalar(
        select(func.count())
        .select_from(RoutingRule)
        .where(RoutingRule.contingency_plan_id == plan.id)
    )
    if users:
        raise Conflict(
            f"contingency plan {plan.name!r} is used by {users} routing rule(s)",
            errors={"id": ["in use by routing rules"]},
        )
    before = _view(plan)
    session.delete(plan)
    session.flush()
    audit.record(
        session, actor, "contingency_plan.delete", "contingency_plan", plan.id, before=before
    )
