"""The CMDB's registry (classes, relation types) and bulk import/export over HTTP."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Response
from pydantic import BaseModel, Field

from api.deps import SessionDep, require
from itsm_core.actor import Actor
from itsm_core.cmdb import bulk, relationships
from itsm_core.cmdb.choices import REDUNDANCY_RELATIONS, BulkFormat, RelationType
from itsm_core.cmdb.classes import registered
from itsm_core.errors import ValidationFailed
from itsm_core.people.roles import Permission

router = APIRouter(tags=["cmdb"])
Reader = Annotated[Actor, Depends(require(Permission.CI_READ))]
Writer = Annotated[Actor, Depends(require(Permission.CI_WRITE))]
MEDIA_TYPES = {BulkFormat.CSV: "text/csv; charset=utf-8", BulkFormat.YAML: "application/yaml"}


class CIClassOut(BaseModel):
    name: str
    label: str
    description: str
    attributes_schema: dict[str, Any] = Field(description="JSON Schema of `attributes`")


class RelationTypeOut(BaseModel):
    relation: RelationType
    dependent: str = Field(description="`source` or `target`: the end that needs the other")
    meaning: str
    allowed: list[str] = Field(description="Allowed `source_class target_class` pairs")
    may_be_redundant: bool


@router.get("/ci-classes", summary="The CI classes and the JSON schema of their attributes")
def ci_classes(_: Reader) -> list[CIClassOut]:
    return [
        CIClassOut(
            name=c.name, label=c.label, description=c.description, attributes_schema=c.json_schema()
        )
        for c in registered()
    ]


@router.get("/ci-relation-types", summary="Relation types: which end depends on which")
def relation_types(_: Reader) -> list[RelationTypeOut]:
    out = []
    for relation in RelationType:
        dependent = "source" if relation.source_depends_on_target else "target"
        other = "target" if dependent == "source" else "source"
        out.append(
            RelationTypeOut(
                relation=relation,
                dependent=dependent,
                meaning=f"the {dependent} depends on the {other}: "
                f"a failure of the {other} impacts the {dependent}",
                allowed=[f"{s} {t}" for s, t in relationships.allowed_pairs(relation)],
                may_be_redundant=relation in REDUNDANCY_RELATIONS,
            )
        )
    return out


def _format(explicit: BulkFormat | None, content_type: str | None) -> BulkFormat:
    if explicit is not None:
        return explicit
    lowered = (content_type or "").lower()
    for fmt in BulkFormat:
        if fmt.value in lowered:
            return fmt
    raise ValidationFailed.on("format", "give ?format=csv|yaml or a text/csv or YAML body")


class ImportOut(BaseModel):
    created: int
    updated: int
    unchanged: int
    relationships_created: int
    relationships_unchanged: int
    dry_run: bool


@router.post(
    "/cmdb/import",
    summary="Load CIs and relationships from a CSV or YAML file, all or nothing",
    description="The body is the file. Errors come back as 422, keyed `row N: field`. "
    "`dry_run=true` checks and counts without keeping anything.",
)
def import_file(
    session: SessionDep,
    actor: Writer,
    content: Annotated[bytes, Body(media_type="text/csv")],
    fmt: Annotated[BulkFormat | None, Query(alias="format")] = None,
    dry_run: bool = False,
    content_type: Annotated[str | None, Header(max_length=200)] = None,
) -> ImportOut:
    report = bulk.import_estate(
        session, actor, content, _format(fmt, content_type), dry_run=dry_run
    )
    return ImportOut(**report.summary())


@router.get(
    "/cmdb/export",
    summary="The CMDB as a CSV or YAML file that import reads back unchanged",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, "application/yaml": {}}}},
)
def export_file(
    session: SessionDep,
    _: Reader,
    fmt: Annotated[BulkFormat, Query(alias="format")] = BulkFormat.YAML,
    include_retired: bool = False,
) -> Response:
    text = bulk.export_estate(session, fmt, include_retired=include_retired)
    return Response(
        content=text.encode(),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="cmdb.{fmt.value}"'},
    )
