"""Checking an import file against itself and the database before anything is written.

``build_plan`` validates every record, decides which existing CI each row means,
resolves every reference and relationship, and collects *all* problems keyed
``row N: field``. Nothing here writes; ``bulk.import_estate`` applies a clean plan.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import Session

from itsm_core.cmdb.bulk_formats import Record
from itsm_core.cmdb.choices import REDUNDANCY_RELATIONS, Criticality, Lifecycle, RelationType
from itsm_core.cmdb.classes import SITE, class_names, get_class, validate_attributes
from itsm_core.cmdb.models import CIRelationship, ConfigurationItem
from itsm_core.cmdb.relationships import check_pair
from itsm_core.cmdb.schemas import (
    Address,
    AttributeValues,
    ClassName,
    Description,
    ExternalId,
    Name,
    Source,
    Tags,
    parse,
)
from itsm_core.errors import FulcrumError
from itsm_core.people.models import Group

DEFAULT_SOURCE = "import"
_INVERSE = {RelationType.RUNS_ON: RelationType.HOSTS, RelationType.HOSTS: RelationType.RUNS_ON}
Ref = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class CIRecord(BaseModel):
    """One CI row of an import file."""

    model_config = ConfigDict(extra="forbid", validate_by_name=True, validate_by_alias=True)

    ci_class: ClassName = Field(alias="class")
    name: Name
    external_id: ExternalId | None = None
    source: Source | None = None
    site: Ref | None = None
    owner_group: Annotated[str, StringConstraints(max_length=100)] | None = None
    criticality: Criticality | None = None
    lifecycle: Lifecycle | None = None
    tags: Tags | None = None
    management_address: Address | None = None
    description: Description | None = None
    attributes: AttributeValues = Field(default_factory=dict)


class RelationshipRecord(BaseModel):
    """One relationship row: ``<from> <relation> <to>``."""

    model_config = ConfigDict(extra="forbid", validate_by_name=True, validate_by_alias=True)

    source: Ref = Field(alias="from")
    relation: RelationType
    target: Ref = Field(alias="to")
    redundant: bool = False


@dataclass(eq=False)
class PlannedCI:
    """A CI row: what it will set, and which existing CI (if any) it updates."""

    row: int
    ci_class: str
    name: str
    fields: dict[str, Any]
    existing: ConfigurationItem | None
    lifecycle_after: Lifecycle
    site_ref: str | None = None
    site: PlannedCI | ConfigurationItem | None = None
    site_deferred: bool = False
    ci: ConfigurationItem | None = None


Target = PlannedCI | ConfigurationItem


@dataclass
class PlannedLink:
    row: int
    source: Target
    relation: RelationType
    target: Target
    redundant: bool
    exists: bool


@dataclass
class Plan:
    cis: list[PlannedCI] = field(default_factory=list)
    relationships: list[PlannedLink] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)
    existing_ids: set[int] = field(default_factory=set)

    def error(self, row: int, key: str, message: str) -> None:
        self.errors.setdefault(f"row {row}: {key}", []).append(message)

    def errors_from(self, row: int, exc: FulcrumError) -> None:
        for key, messages in (exc.errors or {"row": [exc.detail]}).items():
            for message in messages:
                self.error(row, key, message)

    def ordered_cis(self) -> list[PlannedCI]:
        """Sites first, so the other rows find the sites they name."""
        return sorted(self.cis, key=lambda item: item.ci_class != SITE)

    def site_id_now(self, item: PlannedCI) -> int | None:
        """The site's id if it exists yet; otherwise the row is deferred to a 2nd pass."""
        if item.site is None:
            return None
        if isinstance(item.site, ConfigurationItem):
            return item.site.id
        if item.site.ci is None:
            item.site_deferred = True
            return None
        return item.site.ci.id

    def deferred_sites(self) -> list[PlannedCI]:
        return [item for item in self.cis if item.site_deferred]

    @staticmethod
    def identity(target: Target) -> Target:
        """The existing CI a row updates, or the row itself for a new CI."""
        if isinstance(target, PlannedCI) and target.existing is not None:
            return target.existing
        return target

    @staticmethod
    def ci_of(target: Target) -> ConfigurationItem:
        if isinstance(target, ConfigurationItem):
            return target
        assert target.ci is not None
        return target.ci


def _lifecycle_of(target: Target) -> Lifecycle:
    return target.lifecycle_after if isinstance(target, PlannedCI) else target.lifecycle


class _Resolver:
    """Finds the CI a row or a reference means, in the file first, then the database."""

    def __init__(self, session: Session) -> None:
        self.by_ext: dict[tuple[str, str], ConfigurationItem] = {}
        self.by_name: dict[tuple[str, str], list[ConfigurationItem]] = defaultdict(list)
        for ci in session.scalars(select(ConfigurationItem).order_by(ConfigurationItem.id)):
            if ci.external_id is not None:
                self.by_ext[(ci.source, ci.external_id)] = ci
            self.by_name[(ci.ci_class, ci.name)].append(ci)
        self.file_ext: dict[tuple[str, str], PlannedCI] = {}
        self.file_name: dict[tuple[str, str], list[PlannedCI]] = defaultdict(list)
        # Rows without external id, by (class, name): each may appear once.
        self.file_plain: dict[tuple[str, str], int] = {}

    def by_class_name(self, ci_class: str, name: str) -> list[ConfigurationItem]:
        """Live CIs of that class and name, or else the retired ones."""
        found = self.by_name.get((ci_class, name), [])
        live = [ci for ci in found if ci.lifecycle != Lifecycle.RETIRED]
        return live or found

    def reference(self, ref: str, implied_class: str | None = None) -> Target:
        """``class:name`` or ``ext:SOURCE:EXTERNAL_ID`` (or a bare name of ``implied_class``)."""
        head, _, rest = ref.partition(":")
        if head == "ext" and ":" in rest:
            source, _, external_id = rest.partition(":")
            found: Target | None = self.file_ext.get((source, external_id)) or self.by_ext.get(
                (source, external_id)
            )
            if found is None:
                raise LookupError(f"no CI with source {source!r} and external id {external_id!r}")
            return found
        if rest and head in class_names():
            ci_class, name = head, rest
        elif implied_class is not None:
            ci_class, name = implied_class, ref
        else:
            raise LookupError("a reference is class:name or ext:SOURCE:EXTERNAL_ID")
        in_file = self.file_name.get((ci_class, name), [])
        candidates: list[Target] = list(in_file) or list(self.by_class_name(ci_class, name))
        if not candidates:
            raise LookupError(f"no {ci_class} named {name!r}")
        if len(candidates) > 1:
            raise LookupError(f"{len(candidates)} {ci_class}s are named {name!r}; use ext:…")
        return candidates[0]


def _identify(
    plan: Plan, resolver: _Resolver, row: int, rec: CIRecord, fields: dict[str, Any]
) -> tuple[bool, ConfigurationItem | None]:
    """Which existing CI the row means (``(False, …)`` if the row is in error)."""
    if rec.external_id is not None:
        key = (fields.setdefault("source", DEFAULT_SOURCE), rec.external_id)
        if key in resolver.file_ext:
            plan.error(row, "external_id", f"the same CI as row {resolver.file_ext[key].row}")
            return False, None
        existing = resolver.by_ext.get(key)
        if existing is not None:
            fields["name"] = rec.name  # matched by identity: the name may change
        return True, existing
    plain = (rec.ci_class, rec.name)
    if plain in resolver.file_plain:
        other = resolver.file_plain[plain]
        plan.error(row, "name", f"the same CI as row {other}: give each an external_id")
        return False, None
    resolver.file_plain[plain] = row
    matches = resolver.by_class_name(rec.ci_class, rec.name)
    if len(matches) > 1:
        ids = ", ".join(str(ci.id) for ci in matches)
        plan.error(row, "name", f"CIs {ids} are all {rec.ci_class} {rec.name!r}: add external_id")
        return False, None
    if not matches:
        fields.setdefault("source", DEFAULT_SOURCE)
        return True, None
    fields.pop("source", None)  # a CI found by name keeps its discovery identity
    return True, matches[0]


def _check_attributes_anyway(plan: Plan, record: Record) -> None:
    """Report bad attributes too when the rest of the row is bad: one pass, every error."""
    ci_class, attributes = record.data.get("class"), record.data.get("attributes")
    if ci_class in class_names() and isinstance(attributes, dict):
        try:
            validate_attributes(ci_class, attributes)
        except FulcrumError as exc:
            plan.errors_from(record.row, exc)


def _plan_ci(plan: Plan, resolver: _Resolver, groups: dict[str, int], record: Record) -> None:
    try:
        rec = parse(CIRecord, record.data)
        get_class(rec.ci_class)
    except FulcrumError as exc:
        plan.errors_from(record.row, exc)
        _check_attributes_anyway(plan, record)
        return
    fields = rec.model_dump(
        exclude_none=True, exclude={"ci_class", "name", "site", "owner_group", "attributes"}
    )
    known, existing = _identify(plan, resolver, record.row, rec, fields)
    if existing is not None:
        if existing.ci_class != rec.ci_class:
            plan.error(record.row, "class", f"CI {existing.id} is a {existing.ci_class}")
            known = False
        elif existing.id in plan.existing_ids:
            plan.error(record.row, "name", f"CI {existing.id} appears twice in the file")
            known = False
        else:
            plan.existing_ids.add(existing.id)
    valid = known
    try:
        if rec.attributes:
            fields["attributes"] = validate_attributes(rec.ci_class, rec.attributes)
    except FulcrumError as exc:
        plan.errors_from(record.row, exc)
        valid = False
    if rec.owner_group is not None:
        if rec.owner_group in groups:
            fields["owner_group_id"] = groups[rec.owner_group]
        else:
            plan.error(record.row, "owner_group", f"no group named {rec.owner_group!r}")
            valid = False
    if not known:
        return
    lifecycle = rec.lifecycle or (existing.lifecycle if existing else Lifecycle.ACTIVE)
    item = PlannedCI(record.row, rec.ci_class, rec.name, fields, existing, lifecycle)
    item.site_ref = rec.site
    # Registered even when its fields are in error, so other rows' references to it
    # do not add misleading "no such CI" errors.
    if rec.external_id is not None:
        resolver.file_ext[(fields["source"], rec.external_id)] = item
    resolver.file_name[(rec.ci_class, rec.name)].append(item)
    if valid:
        plan.cis.append(item)


def _plan_site(plan: Plan, resolver: _Resolver, item: PlannedCI) -> None:
    if item.site_ref is None:
        return
    try:
        site = resolver.reference(item.site_ref, implied_class=SITE)
    except LookupError as exc:
        plan.error(item.row, "site", str(exc))
        return
    if site.ci_class != SITE:
        plan.error(item.row, "site", f"{site.name!r} is a {site.ci_class}, not a site")
    elif site is item or site is item.existing:
        plan.error(item.row, "site", "a CI cannot be its own site")
    else:
        item.site = site


def _plan_link(
    plan: Plan,
    resolver: _Resolver,
    edges: set[tuple[int, int, RelationType]],
    seen: dict[tuple[int, int, RelationType], int],
    record: Record,
) -> None:
    try:
        rec = parse(RelationshipRecord, record.data)
    except FulcrumError as exc:
        plan.errors_from(record.row, exc)
        return
    ends: list[Target] = []
    for key, ref in (("from", rec.source), ("to", rec.target)):
        try:
            ends.append(resolver.reference(ref))
        except LookupError as exc:
            plan.error(record.row, key, str(exc))
    if len(ends) != 2:
        return
    source, target = ends
    if Plan.identity(source) is Plan.identity(target):
        plan.error(record.row, "to", "a CI cannot have a relationship with itself")
        return
    for key, end in (("from", source), ("to", target)):
        if _lifecycle_of(end) == Lifecycle.RETIRED:
            plan.error(record.row, key, f"{end.name!r} is retired")
            return
    try:
        check_pair(rec.relation, source.ci_class, target.ci_class)
    except FulcrumError as exc:
        plan.errors_from(record.row, exc)
        return
    if rec.redundant and rec.relation not in REDUNDANCY_RELATIONS:
        plan.error(record.row, "redundant", f"{rec.relation} cannot be redundant")
        return
    src, tgt = Plan.identity(source), Plan.identity(target)
    # runs_on and hosts say the same thing from either end: compare in one form.
    edge = (id(src), id(tgt), rec.relation)
    if rec.relation == RelationType.HOSTS:
        edge = (id(tgt), id(src), RelationType.RUNS_ON)
    if edge in seen:
        plan.error(record.row, "relation", f"the same relationship as row {seen[edge]}")
        return
    seen[edge] = record.row
    exists = False
    if isinstance(src, ConfigurationItem) and isinstance(tgt, ConfigurationItem):
        exists = (src.id, tgt.id, rec.relation) in edges or (
            rec.relation in _INVERSE and (tgt.id, src.id, _INVERSE[rec.relation]) in edges
        )
    plan.relationships.append(
        PlannedLink(record.row, source, rec.relation, target, rec.redundant, exists)
    )


def build_plan(session: Session, records: list[Record]) -> Plan:
    """Check every record; the plan holds what to do, or every problem found."""
    plan = Plan()
    resolver = _Resolver(session)
    groups = dict(session.execute(select(Group.name, Group.id)).all())
    for record in records:
        if record.kind == "ci":
            _plan_ci(plan, resolver, groups, record)
    for item in plan.cis:
        _plan_site(plan, resolver, item)
    edges = {
        (s, t, RelationType(r))
        for s, t, r in session.execute(
            select(CIRelationship.source_id, CIRelationship.target_id, CIRelationship.relation)
        )
    }
    seen: dict[tuple[int, int, RelationType], int] = {}
    for record in records:
        if record.kind == "relationship":
            _plan_link(plan, resolver, edges, seen, record)
    return plan
