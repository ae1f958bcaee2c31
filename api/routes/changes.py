"""Changes (RFCs), their approvals, conflicts and calendar, and standard-change templates."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import SessionDep, require
from api.pagination import CursorQuery, LimitQuery, Page, paginate
from itsm_core.actor import Actor
from itsm_core.changes import approvals, conflicts, lifecycle, quorum, service, templates
from itsm_core.changes.calendar import calendar
from itsm_core.changes.choices import ChangeState, ChangeType, Risk
from itsm_core.changes.models import Change, ChangeEvent, ChangeTemplate
from itsm_core.changes.schemas import (
    ApprovalStatusOut,
    CalendarOut,
    ChangeCreate,
    ChangeDetail,
    ChangeOut,
    ChangeUpdate,
    ConflictOut,
    EventOut,
    TransitionIn,
    UtcDatetime,
    VoteIn,
    VoteOut,
)
from itsm_core.changes.template_schemas import (
    TemplateCreate,
    TemplateInstantiate,
    TemplateOut,
    TemplateUpdate,
)
from itsm_core.fields import MAX_DB_ID
from itsm_core.people.roles import Permission

router = APIRouter(prefix="/api/v1", tags=["changes"])
Reader = Annotated[Actor, Depends(require(Permission.CHANGE_READ))]
Writer = Annotated[Actor, Depends(require(Permission.CHANGE_WRITE))]
Approver = Annotated[Actor, Depends(require(Permission.CHANGE_APPROVE))]
Manager = Annotated[Actor, Depends(require(Permission.CHANGE_MANAGE))]
ChangeId = Annotated[int, Path(ge=1, le=MAX_DB_ID)]
TemplateId = Annotated[int, Path(ge=1, le=MAX_DB_ID)]
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_DB_ID)]
States = Annotated[list[ChangeState] | None, Query(max_length=10)]
Types = Annotated[list[ChangeType] | None, Query(alias="type", max_length=3)]
Risks = Annotated[list[Risk] | None, Query(max_length=3)]


def _detail(session: Session, change: Change) -> ChangeDetail:
    return ChangeDetail.build(
        change, conflicts.conflicts_of(session, change), lifecycle.allowed_targets(change.state)
    )


@router.get("/changes/calendar", summary="Changes whose window intersects [start, end)")
def change_calendar(
    session: SessionDep,
    _: Reader,
    start: Annotated[UtcDatetime, Query()],
    end: Annotated[UtcDatetime, Query()],
    ci_id: OptionalId = None,
    state: States = None,
    change_type: Types = None,
) -> CalendarOut:
    view = calendar(session, start, end, ci_id=ci_id, states=state or (), types=change_type or ())
    return CalendarOut(
        start=view.start,
        end=view.end,
        truncated=view.truncated,
        items=[ChangeOut.of(c) for c in view.changes],
    )


@router.get("/changes", summary="List changes, newest first")
def list_changes(
    session: SessionDep,
    _: Reader,
    state: States = None,
    change_type: Types = None,
    risk: Risks = None,
    ci_id: OptionalId = None,
    requester_id: OptionalId = None,
    template_id: OptionalId = None,
    window_start: Annotated[UtcDatetime | None, Query()] = None,
    window_end: Annotated[UtcDatetime | None, Query()] = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> Page[ChangeOut]:
    stmt = service.search(
        states=state or (),
        types=change_type or (),
        risks=risk or (),
        ci_id=ci_id,
        requester_id=requester_id,
        template_id=template_id,
        window_start=window_start,
        window_end=window_end,
    )
    rows, next_cursor = paginate(session, stmt, Change.id, cursor, limit)
    return Page(items=[ChangeOut.of(c) for c in rows], next_cursor=next_cursor)


@router.post("/changes", status_code=status.HTTP_201_CREATED, summary="Raise an RFC")
def create_change(body: ChangeCreate, session: SessionDep, actor: Writer) -> ChangeDetail:
    change = service.create_change(session, actor, **body.model_dump())
    return _detail(session, change)


@router.get("/changes/{change_id}", summary="One change, its conflicts and next states")
def get_change(change_id: ChangeId, session: SessionDep, _: Reader) -> ChangeDetail:
    return _detail(session, service.get_change(session, change_id))


@router.patch("/changes/{change_id}", summary="Edit a change (while new or in assessment)")
def update_change(
    change_id: ChangeId, body: ChangeUpdate, session: SessionDep, actor: Writer
) -> ChangeDetail:
    change = service.get_change(session, change_id)
    service.update_change(session, actor, change, body.model_dump(exclude_unset=True))
    return _detail(session, change)


@router.post("/changes/{change_id}/transitions", summary="Move a change to another state")
def transition_change(
    change_id: ChangeId, body: TransitionIn, session: SessionDep, actor: Writer
) -> ChangeDetail:
    change = service.get_change(session, change_id)
    lifecycle.transition(
        session,
        actor,
        change,
        body.to,
        reason=body.reason,
        force=body.force,
        review_outcome=body.review_outcome,
        review_notes=body.review_notes,
        approver_groups=body.requirements(),
    )
    return _detail(session, change)


@router.get("/changes/{change_id}/approvals", summary="Approval requirements and votes")
def get_approvals(change_id: ChangeId, session: SessionDep, _: Reader) -> ApprovalStatusOut:
    change = service.get_change(session, change_id)
    return ApprovalStatusOut.of(change, quorum.status(session, change))


@router.post(
    "/changes/{change_id}/approvals",
    status_code=status.HTTP_201_CREATED,
    summary="Approve or reject (one vote per approver)",
)
def vote(change_id: ChangeId, body: VoteIn, session: SessionDep, actor: Approver) -> VoteOut:
    change = service.get_change(session, change_id)
    result = approvals.vote(session, actor, change, body.decision, body.comment)
    return VoteOut.build(result.approval, result.change, result.status, result.blocked_by)


@router.get("/changes/{change_id}/conflicts", summary="Open changes overlapping on a shared CI")
def get_conflicts(change_id: ChangeId, session: SessionDep, _: Reader) -> list[ConflictOut]:
    change = service.get_change(session, change_id)
    return [ConflictOut.of(c) for c in conflicts.conflicts_of(session, change)]


@router.get("/changes/{change_id}/timeline", summary="A change's history, newest first")
def get_timeline(
    change_id: ChangeId,
    session: SessionDep,
    _: Reader,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> Page[EventOut]:
    change = service.get_change(session, change_id)
    stmt = select(ChangeEvent).where(ChangeEvent.change_id == change.id)
    rows, next_cursor = paginate(session, stmt, ChangeEvent.id, cursor, limit)
    return Page(items=[EventOut.of(e) for e in rows], next_cursor=next_cursor)


@router.get("/change-templates", summary="List standard-change templates")
def list_templates(
    session: SessionDep,
    _: Reader,
    active: Annotated[bool | None, Query()] = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> Page[TemplateOut]:
    stmt = select(ChangeTemplate)
    if active is not None:
        stmt = stmt.where(ChangeTemplate.active == active)
    rows, next_cursor = paginate(session, stmt, ChangeTemplate.id, cursor, limit)
    return Page(items=[TemplateOut.of(t) for t in rows], next_cursor=next_cursor)


@router.post("/change-templates", status_code=status.HTTP_201_CREATED, summary="Add a template")
def create_template(body: TemplateCreate, session: SessionDep, actor: Manager) -> TemplateOut:
    return TemplateOut.of(templates.create_template(session, actor, **body.model_dump()))


@router.get("/change-templates/{template_id}", summary="One template")
def get_template(template_id: TemplateId, session: SessionDep, _: Reader) -> TemplateOut:
    return TemplateOut.of(templates.get_template(session, template_id))


@router.patch("/change-templates/{template_id}", summary="Edit or retire a template")
def update_template(
    template_id: TemplateId, body: TemplateUpdate, session: SessionDep, actor: Manager
) -> TemplateOut:
    template = templates.get_template(session, template_id)
    templates.update_template(session, actor, template, body.model_dump(exclude_unset=True))
    return TemplateOut.of(template)


@router.post(
    "/change-templates/{template_id}/changes",
    status_code=status.HTTP_201_CREATED,
    summary="Make a pre-approved standard change from a template",
)
def instantiate_template(
    template_id: TemplateId, body: TemplateInstantiate, session: SessionDep, actor: Writer
) -> ChangeDetail:
    template = templates.get_template(session, template_id)
    change = templates.create_from_template(session, actor, template, **body.model_dump())
    return _detail(session, change)
