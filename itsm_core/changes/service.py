"""Raising, editing, finding and listing changes.

``create_change`` raises a normal or emergency RFC in ``new``; standard changes come only
from a template (``templates.create_from_template``). Edits are allowed while a change
is ``new`` or in ``assessment`` — once the CAB looks at it, what it approves must not
move under it. Moves between states are ``lifecycle.transition``; votes are
``approvals``.

Problems do not exist yet: ``problem_ids`` are stored as given (positive ids, no
foreign key) until the problems table lands and a link table replaces the list.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from itsm_core.actor import Actor
from itsm_core.changes import conflicts, history
from itsm_core.changes.choices import EDITABLE_STATES, ChangeState, ChangeType, EventKind, Risk
from itsm_core.changes.lifecycle import lock
from itsm_core.changes.models import Change, ChangeCI, ChangeIncident, ChangeTemplate
from itsm_core.changes.risk import assess_risk, higher, risk_floor
from itsm_core.cmdb.models import ConfigurationItem
from itsm_core.errors import Conflict, NotFound, ValidationFailed
from itsm_core.incidents.models import Incident
from itsm_core.people.models import User

# What ``update_change`` accepts.
EDITABLE_FIELDS = frozenset(
    {
        "title",
        "description",
        "change_type",
        "risk",
        "category",
        "planned_start",
        "planned_end",
        "implementation_plan",
        "backout_plan",
        "implementer_id",
        "ci_ids",
        "incident_ids",
        "problem_ids",
    }
)


def get_change(session: Session, change_id: int) -> Change:
    change = session.get(Change, change_id)
    if change is None:
        raise NotFound(f"change {change_id} does not exist")
    return change


def create_change(
    session: Session,
    actor: Actor,
    *,
    title: str,
    change_type: ChangeType = ChangeType.NORMAL,
    description: str = "",
    risk: Risk | None = None,
    category: str = "",
    planned_start: datetime | None = None,
    planned_end: datetime | None = None,
    implementation_plan: str = "",
    backout_plan: str = "",
    ci_ids: Iterable[int] = (),
    incident_ids: Iterable[int] = (),
    problem_ids: Iterable[int] = (),
    implementer_id: int | None = None,
) -> Change:
    """Raise a normal or emergency change in ``new``; overlaps are noted, not refused."""
    if ChangeType(change_type) is ChangeType.STANDARD:
        raise ValidationFailed.on(
            "change_type", "standard changes are made from a template (change-templates)"
        )
    return new_change(
        session,
        actor,
        title=title,
        change_type=ChangeType(change_type),
        description=description,
        risk=risk,
        category=category,
        planned_start=planned_start,
        planned_end=planned_end,
        implementation_plan=implementation_plan,
        backout_plan=backout_plan,
        ci_ids=ci_ids,
        incident_ids=incident_ids,
        problem_ids=problem_ids,
        implementer_id=implementer_id,
    )


def new_change(
    session: Session,
    actor: Actor,
    *,
    title: str,
    change_type: ChangeType,
    description: str,
    risk: Risk | None,
    category: str,
    planned_start: datetime | None,
    planned_end: datetime | None,
    implementation_plan: str,
    backout_plan: str,
    ci_ids: Iterable[int],
    incident_ids: Iterable[int],
    problem_ids: Iterable[int],
    implementer_id: int | None,
    template: ChangeTemplate | None = None,
) -> Change:
    """Validate and insert any change (``create_change`` and templates go through here)."""
    _check_title(title)
    _check_window(planned_start, planned_end)
    cis = load_cis(session, ci_ids)
    incidents = _load_incidents(session, incident_ids)
    _check_implementer(session, implementer_id)
    change = Change(
        title=title.strip(),
        description=description,
        change_type=change_type,
        state=ChangeState.NEW,
        risk=assess_risk(risk, cis),
        category=category,
        requested_by=actor.name,
        requester_id=actor.user_id,
        implementer_id=implementer_id,
        template_id=template.id if template is not None else None,
        planned_start=planned_start,
        planned_end=planned_end,
        implementation_plan=implementation_plan,
        backout_plan=backout_plan,
        problem_ids=_problem_ids(problem_ids),
        ci_links=[ChangeCI(ci_id=ci.id) for ci in cis],
        incident_links=[ChangeIncident(incident_id=i.id) for i in incidents],
    )
    session.add(change)
    session.flush()
    after = history.snapshot(change)
    history.log(
        session,
        actor,
        change,
        EventKind.CREATED,
        "change.create",
        to_state=change.state,
        after=after,
    )
    _note_overlaps(session, actor, change)
    return change


def update_change(
    session: Session, actor: Actor, change: Change, fields: Mapping[str, Any]
) -> Change:
    """Edit a change still ``new`` or in ``assessment``; only the fields given change.

    The risk is re-assessed against the CIs: never silently lowered, never below the floor.
    """
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise ValidationFailed.on(sorted(unknown)[0], "cannot be edited")
    lock(session, change)
    if change.state not in EDITABLE_STATES:
        raise Conflict(
            f"{change.number} can be edited only while new or in assessment; it is {change.state}",
            errors={"state": [f"is {change.state}"]},
        )
    before = history.snapshot(change)
    if "change_type" in fields and ChangeType(fields["change_type"]) is ChangeType.STANDARD:
        raise ValidationFailed.on("change_type", "a change cannot become standard")
    start = fields.get("planned_start", change.planned_start)
    end = fields.get("planned_end", change.planned_end)
    _check_window(start, end)
    if "title" in fields:
        _check_title(fields["title"])
    if "implementer_id" in fields:
        _check_implementer(session, fields["implementer_id"])
    if "ci_ids" in fields:
        cis = load_cis(session, fields["ci_ids"])
        change.ci_links = [ChangeCI(ci_id=ci.id) for ci in cis]
    else:
        cis = load_cis(session, change.ci_ids)
    if "incident_ids" in fields:
        incidents = _load_incidents(session, fields["incident_ids"])
        change.incident_links = [ChangeIncident(incident_id=i.id) for i in incidents]
    requested = fields.get("risk")
    change.risk = (
        assess_risk(Risk(requested), cis)
        if requested is not None
        else higher(change.risk, risk_floor(cis))
    )
    for name in ("description", "category", "implementation_plan", "backout_plan"):
        if name in fields:
            setattr(change, name, fields[name])
    if "title" in fields:
        change.title = fields["title"].strip()
    if "change_type" in fields:
        change.change_type = ChangeType(fields["change_type"])
    if "implementer_id" in fields:
        change.implementer_id = fields["implementer_id"]
    if "problem_ids" in fields:
        change.problem_ids = _problem_ids(fields["problem_ids"])
    change.planned_start, change.planned_end = start, end
    session.flush()
    after = history.snapshot(change)
    changed = sorted(k for k in after if after[k] != before[k])
    if not changed:
        return change
    history.log(
        session,
        actor,
        change,
        EventKind.UPDATED,
        "change.update",
        message="edited: " + ", ".join(changed),
        data={"fields": changed},
        before={k: before[k] for k in changed},
        after={k: after[k] for k in changed},
    )
    if {"planned_start", "planned_end", "ci_ids"} & set(changed):
        _note_overlaps(session, actor, change)
    return change


def search(
    *,
    states: Collection[ChangeState] = (),
    types: Collection[ChangeType] = (),
    risks: Collection[Risk] = (),
    ci_id: int | None = None,
    requester_id: int | None = None,
    template_id: int | None = None,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
) -> Select[Any]:
    """A query for changes matching every filter given (the window filter: intersects)."""
    stmt = select(Change)
    if states:
        stmt = stmt.where(Change.state.in_(sorted(states)))
    if types:
        stmt = stmt.where(Change.change_type.in_(sorted(types)))
    if risks:
        stmt = stmt.where(Change.risk.in_(sorted(risks)))
    if ci_id is not None:
        stmt = stmt.where(Change.id.in_(select(ChangeCI.change_id).where(ChangeCI.ci_id == ci_id)))
    if requester_id is not None:
        stmt = stmt.where(Change.requester_id == requester_id)
    if template_id is not None:
        stmt = stmt.where(Change.template_id == template_id)
    if window_start is not None and window_end is not None and window_start >= window_end:
        raise ValidationFailed.on("window_end", "must be after window_start")
    if window_start is not None:
        stmt = stmt.where(Change.planned_end > window_start)
    if window_end is not None:
        stmt = stmt.where(Change.planned_start < window_end)
    return stmt


def load_cis(session: Session, ci_ids: Iterable[int]) -> list[ConfigurationItem]:
    """The CIs with ``ci_ids`` (deduplicated), or ``ValidationFailed`` naming the unknown."""
    wanted = sorted(set(ci_ids))
    if not wanted:
        return []
    found = list(
        session.scalars(
            select(ConfigurationItem)
            .where(ConfigurationItem.id.in_(wanted))
            .order_by(ConfigurationItem.id)
        )
    )
    missing = sorted(set(wanted) - {ci.id for ci in found})
    if missing:
        raise ValidationFailed.on("ci_ids", f"unknown CI ids: {', '.join(map(str, missing))}")
    return found


def _load_incidents(session: Session, incident_ids: Iterable[int]) -> list[Incident]:
    wanted = sorted(set(incident_ids))
    if not wanted:
        return []
    found = list(
        session.scalars(select(Incident).where(Incident.id.in_(wanted)).order_by(Incident.id))
    )
    missing = sorted(set(wanted) - {i.id for i in found})
    if missing:
        raise ValidationFailed.on(
            "incident_ids", f"unknown incident ids: {', '.join(map(str, missing))}"
        )
    return found


def _problem_ids(problem_ids: Iterable[int]) -> list[int]:
    ids = sorted(set(problem_ids))
    if any(i < 1 for i in ids):
        raise ValidationFailed.on("problem_ids", "ids are positive integers")
    return ids


def _check_title(title: str) -> None:
    if not title.strip():
        raise ValidationFailed.on("title", "must not be blank")


def _check_window(start: datetime | None, end: datetime | None) -> None:
    if (start is None) != (end is None):
        field = "planned_end" if end is None else "planned_start"
        raise ValidationFailed.on(field, "planned_start and planned_end go together")
    if start is not None and end is not None and start >= end:
        raise ValidationFailed.on("planned_end", "must be after planned_start")


def _check_implementer(session: Session, user_id: int | None) -> None:
    if user_id is None:
        return
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise ValidationFailed.on("implementer_id", f"no active user {user_id}")


def _note_overlaps(session: Session, actor: Actor, change: Change) -> None:
    found = conflicts.conflicts_of(session, change)
    if not found:
        return
    numbers = [c.change.number for c in found]
    history.log(
        session,
        actor,
        change,
        EventKind.CONFLICT,
        "change.conflict",
        message="window overlaps " + "; ".join(c.describe() for c in found),
        data={"conflicts": numbers, "blocking": [c.change.number for c in found if c.blocking]},
        after={"conflicts": numbers},
    )
