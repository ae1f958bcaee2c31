"""Finding incidents: the list filters shared by the API, the board and the KPIs."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Select, or_, select, union

from itsm_core.incidents.models import NUMBER_PREFIX, Incident, IncidentCI
from itsm_core.incidents.schemas import IncidentQuery

_NUMBER = re.compile(rf"^\s*{NUMBER_PREFIX}0*(\d{{1,10}})\s*$", re.IGNORECASE)


def parse_number(text: str) -> int | None:
    """``INC000123`` (any case, leading zeros optional) → 123; anything else → None."""
    match = _NUMBER.match(text)
    return int(match.group(1)) if match else None


def touches_ci(ci_id: int) -> Any:
    """Incidents whose primary or affected CIs include ``ci_id``.

    ``id IN (… UNION …)`` rather than ``OR EXISTS``: each half uses its own index, where
    the OR made both databases scan every incident.
    """
    ids = union(
        select(Incident.id).where(Incident.primary_ci_id == ci_id),
        select(IncidentCI.incident_id).where(IncidentCI.ci_id == ci_id),
    )
    return Incident.id.in_(ids)


def incident_query(filters: IncidentQuery) -> Select[Any]:
    """A select of the incidents matching every filter given (unordered)."""
    stmt = select(Incident)
    if filters.state:
        stmt = stmt.where(Incident.state.in_(filters.state))
    if filters.priority:
        stmt = stmt.where(Incident.priority.in_(filters.priority))
    if filters.kind is not None:
        stmt = stmt.where(Incident.kind == filters.kind)
    if filters.source is not None:
        stmt = stmt.where(Incident.source == filters.source)
    if filters.assignment_group_id is not None:
        stmt = stmt.where(Incident.assignment_group_id == filters.assignment_group_id)
    if filters.assignee_id is not None:
        stmt = stmt.where(Incident.assignee_id == filters.assignee_id)
    if filters.ci_id is not None:
        stmt = stmt.where(touches_ci(filters.ci_id))
    if filters.created_after is not None:
        stmt = stmt.where(Incident.created_at >= filters.created_after)
    if filters.created_before is not None:
        stmt = stmt.where(Incident.created_at < filters.created_before)
    if filters.q is not None:
        in_title = Incident.title.icontains(filters.q.strip(), autoescape=True)
        number = parse_number(filters.q)
        # Out-of-range numbers cannot be ids; comparing them would overflow INTEGER.
        if number is not None and number <= 2**31 - 1:
            stmt = stmt.where(or_(Incident.id == number, in_title))
        else:
            stmt = stmt.where(in_title)
    return stmt
