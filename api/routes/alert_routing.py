"""Routing rules and contingency plans (预案): CRUD, ordering, and a dry-run.

Reading and the dry-run need ``alert:read``; every write needs ``alert:admin``. Rules
are listed in matching order (the first enabled rule that matches decides).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, status

from alerting.routing import engine, plans, service
from alerting.routing.schemas import (
    DryRunOut,
    DryRunRequest,
    PlanOut,
    PlanPatch,
    PlanSpec,
    ReorderRequest,
    RuleOut,
    RulePatch,
    RuleSpec,
)
from api.deps import SessionDep, require
from itsm_core.actor import Actor
from itsm_core.fields import MAX_DB_ID
from itsm_core.people.roles import Permission

router = APIRouter(prefix="/api/v1/routing-rules", tags=["routing"])
Reader = Annotated[Actor, Depends(require(Permission.ALERT_READ))]
Admin = Annotated[Actor, Depends(require(Permission.ALERT_ADMIN))]
Id = Annotated[int, Path(ge=1, le=MAX_DB_ID)]


# Fixed paths first: "/plans", "/order" and "/test" must not be read as a rule id.


@router.get("/plans", summary="Contingency plans, by name")
def list_plans(session: SessionDep, _: Reader) -> list[PlanOut]:
    return [PlanOut.of(p) for p in plans.list_plans(session)]


@router.post("/plans", status_code=status.HTTP_201_CREATED, summary="Create a contingency plan")
def create_plan(body: PlanSpec, session: SessionDep, actor: Admin) -> PlanOut:
    return PlanOut.of(plans.create_plan(session, actor, body))


@router.get("/plans/{plan_id}", summary="One contingency plan")
def get_plan(plan_id: Id, session: SessionDep, _: Reader) -> PlanOut:
    return PlanOut.of(plans.get_plan(session, plan_id))


@router.patch("/plans/{plan_id}", summary="Edit a contingency plan")
def update_plan(plan_id: Id, body: PlanPatch, session: SessionDep, actor: Admin) -> PlanOut:
    plan = plans.get_plan(session, plan_id)
    return PlanOut.of(plans.update_plan(session, actor, plan, body))


@router.delete(
    "/plans/{plan_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a contingency plan no rule uses",
)
def delete_plan(plan_id: Id, session: SessionDep, actor: Admin) -> None:
    plans.delete_plan(session, actor, plans.get_plan(session, plan_id))


@router.put("/order", summary="Set the matching order (every rule id, once)")
def reorder(body: ReorderRequest, session: SessionDep, actor: Admin) -> list[RuleOut]:
    return [RuleOut.of(r) for r in service.reorder(session, actor, body.rule_ids)]


@router.post("/test", summary="Dry-run: which rule an alert would match and the decision")
def dry_run(body: DryRunRequest, session: SessionDep, _: Reader) -> DryRunOut:
    alert = engine.sample_alert(body.labels, body.severity, body.name)
    return DryRunOut.of(engine.dry_run(session, alert, body.ci_id))


@router.get("", summary="Every routing rule, in matching order")
def list_rules(session: SessionDep, _: Reader) -> list[RuleOut]:
    return [RuleOut.of(r) for r in service.list_rules(session)]


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a routing rule")
def create_rule(body: RuleSpec, session: SessionDep, actor: Admin) -> RuleOut:
    return RuleOut.of(service.create_rule(session, actor, body))


@router.get("/{rule_id}", summary="One routing rule")
def get_rule(rule_id: Id, session: SessionDep, _: Reader) -> RuleOut:
    return RuleOut.of(service.get_rule(session, rule_id))


@router.patch("/{rule_id}", summary="Edit a routing rule (position moves it)")
def update_rule(rule_id: Id, body: RulePatch, session: SessionDep, actor: Admin) -> RuleOut:
    rule = service.get_rule(session, rule_id, for_update=True)
    return RuleOut.of(service.update_rule(session, actor, rule, body))


@router.delete(
    "/{rule_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a routing rule"
)
def delete_rule(rule_id: Id, session: SessionDep, actor: Admin) -> None:
    service.delete_rule(session, actor, service.get_rule(session, rule_id, for_update=True))
