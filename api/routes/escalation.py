"""Escalation policies per priority, and the escalation steps of incidents."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field

import alerting.escalation.settings  # noqa: F401  (registers the [escalation] section)
from alerting.escalation import policies
from alerting.escalation.choices import EscalationState
from alerting.escalation.models import IncidentEscalation
from alerting.escalation.queries import escalation_query
from alerting.escalation.schemas import IncidentEscalationOut, PolicyIn, PolicyOut
from api.deps import SessionDep, require
from api.pagination import Page, paginate
from itsm_core.actor import Actor
from itsm_core.fields import DbId
from itsm_core.incidents.choices import Priority
from itsm_core.people.roles import Permission

router = APIRouter(prefix="/api/v1/escalation-policies", tags=["escalation"])
Reader = Annotated[Actor, Depends(require(Permission.ALERT_READ))]
Admin = Annotated[Actor, Depends(require(Permission.ALERT_ADMIN))]
PriorityPath = Annotated[Priority, Path(description="P1 … P5")]


class EscalationListQuery(BaseModel):
    """Filters of the escalation step list, and the page position."""

    model_config = ConfigDict(extra="forbid")

    incident_id: DbId | None = None
    state: EscalationState | None = None
    cursor: str | None = Field(default=None, max_length=200, description="From `next_cursor`.")
    limit: int = Field(default=50, ge=1, le=200, description="Rows per page.")


@router.get("", summary="The escalation policy in force for each priority")
def list_policies(session: SessionDep, _: Reader) -> list[PolicyOut]:
    return [p.out() for p in policies.policies_in_force(session).values()]


@router.get("/escalations", summary="Escalation steps of incidents: armed, fired, cancelled")
def list_escalations(
    session: SessionDep, _: Reader, query: Annotated[EscalationListQuery, Query()]
) -> Page[IncidentEscalationOut]:
    rows, next_cursor = paginate(
        session,
        escalation_query(query.incident_id, query.state),
        IncidentEscalation.id,
        query.cursor,
        query.limit,
    )
    return Page(items=[IncidentEscalationOut.of(r) for r in rows], next_cursor=next_cursor)


@router.get("/{priority}", summary="The escalation policy of one priority")
def get_policy(priority: PriorityPath, session: SessionDep, _: Reader) -> PolicyOut:
    return policies.policy_for(session, priority).out()


@router.put("/{priority}", summary="Set the escalation policy of one priority")
def set_policy(
    priority: PriorityPath, body: PolicyIn, session: SessionDep, actor: Admin
) -> PolicyOut:
    return policies.set_policy(session, actor, priority, body).out()


@router.delete(
    "/{priority}",
    status_code=status.HTTP_200_OK,
    summary="Drop the stored policy of one priority; the built-in default applies again",
)
def reset_policy(priority: PriorityPath, session: SessionDep, actor: Admin) -> PolicyOut:
    return policies.reset_policy(session, actor, priority).out()
