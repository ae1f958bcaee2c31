"""The CMDB over HTTP: CIs, their history, relationships and impact analysis.

Import/export and the class registry are in ``cmdb_bulk`` and included here, so the app
registers one router.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from api.deps import SessionDep, require
from api.pagination import CursorQuery, LimitQuery, Page, decode_cursor, encode_cursor, paginate
from api.routes import cmdb_bulk
from api.routes.cmdb_impact import ImpactOut, impact_out
from itsm_core.actor import Actor
from itsm_core.cmdb import history, relationships, service
from itsm_core.cmdb.choices import (
    Criticality,
    Direction,
    Lifecycle,
    RelationshipSide,
    RelationType,
)
from itsm_core.cmdb.classes import get_class
from itsm_core.cmdb.impact import impact
from itsm_core.cmdb.models import CIHistory, ConfigurationItem
from itsm_core.cmdb.queries import CIFilter, ci_query
from itsm_core.cmdb.schemas import (
    CICreate,
    CIOut,
    CIUpdate,
    HistoryOut,
    RelationshipCreate,
    RelationshipOut,
)
from itsm_core.people.roles import Permission

router = APIRouter(prefix="/api/v1", tags=["cmdb"])
router.include_router(cmdb_bulk.router)
Reader = Annotated[Actor, Depends(require(Permission.CI_READ))]
Writer = Annotated[Actor, Depends(require(Permission.CI_WRITE))]
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
Text = Annotated[str | None, Query(min_length=1, max_length=200)]


@router.get("/cis", summary="List CIs (all but retired ones unless `lifecycle` says so)")
def list_cis(
    session: SessionDep,
    _: Reader,
    ci_class: Annotated[str | None, Query(alias="class", max_length=40)] = None,
    site_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    owner_group_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    criticality: Criticality | None = None,
    lifecycle: Annotated[list[Lifecycle] | None, Query(max_length=5)] = None,
    tag: Annotated[str | None, Query(min_length=1, max_length=50)] = None,
    q: Annotated[str | None, Query(max_length=200, description="Name contains (any case)")] = None,
    source: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
    external_id: Text = None,
    management_address: Annotated[str | None, Query(min_length=1, max_length=255)] = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> Page[CIOut]:
    if ci_class is not None:
        get_class(ci_class)
    criteria = CIFilter(
        ci_class=ci_class,
        site_id=site_id,
        owner_group_id=owner_group_id,
        criticality=criticality,
        lifecycle=tuple(lifecycle) if lifecycle else None,
        tag=tag,
        q=q,
        source=source,
        external_id=external_id,
        management_address=management_address,
    )
    stmt = ci_query(criteria, session.get_bind().dialect.name)
    rows, next_cursor = paginate(session, stmt, ConfigurationItem.id, cursor, limit)
    return Page(items=[CIOut.of(ci) for ci in rows], next_cursor=next_cursor)


@router.post("/cis", status_code=status.HTTP_201_CREATED, summary="Create a CI")
def create_ci(body: CICreate, session: SessionDep, actor: Writer) -> CIOut:
    return CIOut.of(service.create_ci(session, actor, body))


@router.get("/cis/{ci_id}", summary="One CI")
def get_ci(ci_id: Id, session: SessionDep, _: Reader) -> CIOut:
    return CIOut.of(service.get_ci(session, ci_id))


@router.patch("/cis/{ci_id}", summary="Change a CI (absent keys unchanged; attributes merged)")
def update_ci(ci_id: Id, body: CIUpdate, session: SessionDep, actor: Writer) -> CIOut:
    ci = service.get_ci(session, ci_id)
    service.update_ci(session, actor, ci, body.changes())
    return CIOut.of(ci)


@router.delete("/cis/{ci_id}", summary="Retire a CI (it is kept, with its history)")
def retire_ci(ci_id: Id, session: SessionDep, actor: Writer) -> CIOut:
    ci = service.get_ci(session, ci_id)
    service.retire_ci(session, actor, ci)
    return CIOut.of(ci)


@router.get("/cis/{ci_id}/history", summary="A CI's field changes, newest first")
def ci_history(
    ci_id: Id,
    session: SessionDep,
    _: Reader,
    field: Annotated[
        str | None,
        Query(min_length=1, max_length=100, description="One field, or `attributes.*`"),
    ] = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> Page[HistoryOut]:
    service.get_ci(session, ci_id)
    stmt = history.history_query(ci_id, field)
    rows, next_cursor = paginate(session, stmt, CIHistory.id, cursor, limit)
    return Page(items=[HistoryOut.of(r) for r in rows], next_cursor=next_cursor)


@router.get("/cis/{ci_id}/relationships", summary="A CI's relationships, newest first")
def list_relationships(
    ci_id: Id,
    session: SessionDep,
    _: Reader,
    side: RelationshipSide = RelationshipSide.BOTH,
    relation: RelationType | None = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> Page[RelationshipOut]:
    service.get_ci(session, ci_id)
    before = decode_cursor(cursor) if cursor is not None else None
    found = relationships.relationships_of(
        session, ci_id, side, relation, before_id=before, limit=limit + 1
    )
    more = len(found) > limit
    found = found[:limit]
    items = [RelationshipOut.of(n.relationship, n.source, n.target) for n in found]
    return Page(items=items, next_cursor=encode_cursor(items[-1].id) if more else None)


@router.post(
    "/cis/{ci_id}/relationships",
    status_code=status.HTTP_201_CREATED,
    summary="Add `<this CI> <relation> <target_id>`",
)
def create_relationship(
    ci_id: Id, body: RelationshipCreate, session: SessionDep, actor: Writer
) -> RelationshipOut:
    source = service.get_ci(session, ci_id)
    target = service.get_ci(session, body.target_id)
    rel = relationships.create_relationship(
        session, actor, source, body.relation, target, redundant=body.redundant
    )
    return RelationshipOut.of(rel, source, target)


@router.get("/relationships/{relationship_id}", summary="One relationship")
def get_relationship(relationship_id: Id, session: SessionDep, _: Reader) -> RelationshipOut:
    rel = relationships.get_relationship(session, relationship_id)
    source = service.get_ci(session, rel.source_id)
    return RelationshipOut.of(rel, source, service.get_ci(session, rel.target_id))


@router.delete(
    "/relationships/{relationship_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a relationship (recorded in both CIs' history)",
)
def delete_relationship(relationship_id: Id, session: SessionDep, actor: Writer) -> Response:
    relationships.delete_relationship(
        session, actor, relationships.get_relationship(session, relationship_id)
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/cis/{ci_id}/impact", summary="What depends on this CI, and what it depends on")
def ci_impact(
    ci_id: Id,
    session: SessionDep,
    _: Reader,
    direction: Direction = Direction.DOWNSTREAM,
    depth: Annotated[int, Query(ge=1, le=10, description="Edges to follow")] = 6,
    ci_class: Annotated[
        list[str] | None,
        Query(alias="class", max_length=20, description="Only list CIs of these classes"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=20_000, description="CIs listed at most")] = 100,
) -> ImpactOut:
    for name in ci_class or []:
        get_class(name)
    result = impact(session, ci_id, direction, depth)
    return impact_out(result, classes=set(ci_class or []), limit=limit)
