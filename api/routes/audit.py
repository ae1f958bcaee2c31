"""Reading and verifying the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from api.deps import SessionDep, require
from api.pagination import CursorQuery, LimitQuery, Page, paginate
from itsm_core.actor import Actor
from itsm_core.audit import verify_chain
from itsm_core.audit.models import AuditEntry
from itsm_core.people.roles import Permission

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])
Auditor = Annotated[Actor, Depends(require(Permission.AUDIT_READ))]


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    prev_hash: str
    hash: str


class ChainOut(BaseModel):
    ok: bool
    entries: int
    first_bad_id: int | None
    problem: str | None


@router.get("", summary="Audit entries, newest first")
def list_entries(
    session: SessionDep,
    _: Auditor,
    entity_type: Annotated[str | None, Query(max_length=50)] = None,
    entity_id: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=100)] = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> Page[AuditEntryOut]:
    stmt = select(AuditEntry)
    if entity_type is not None:
        stmt = stmt.where(AuditEntry.entity_type == entity_type)
    if entity_id is not None:
        stmt = stmt.where(AuditEntry.entity_id == entity_id)
    if actor is not None:
        stmt = stmt.where(AuditEntry.actor == actor)
    rows, next_cursor = paginate(session, stmt, AuditEntry.id, cursor, limit)
    return Page(items=[AuditEntryOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/verify", summary="Check the hash chain end to end")
def verify(session: SessionDep, _: Auditor) -> ChainOut:
    report = verify_chain(session)
    return ChainOut(
        ok=report.ok,
        entries=report.entries,
        first_bad_id=report.first_bad_id,
        problem=report.problem,
    )
