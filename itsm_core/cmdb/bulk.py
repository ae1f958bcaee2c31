"""Bulk import and export of the estate: CIs and relationships, CSV or YAML.

Import is all-or-nothing: every row is checked first and every problem reported, keyed
``row N: field`` (N is the line in the file); only a clean file is applied, inside a
savepoint, through the same service functions as the API (history and audit included).

Which CI a row means (so re-importing the same file changes nothing):

- with ``external_id``: the CI with that (``source``, ``external_id``); ``source``
  defaults to ``import``;
- without: the CI of that ``class`` and ``name`` (a live one before a retired one); two
  such CIs make the row ambiguous — give them external ids.

References (a relationship's ``from``/``to``, a CI's ``site``) are ``class:name`` or
``ext:SOURCE:EXTERNAL_ID``; ``site`` may also be just the site's name. They resolve to
the file's own CIs first, then to the database. Import only adds and updates: absent
fields and rows leave the CMDB alone, and nothing is deleted. Export writes what import
reads, sites first; relationships touching a retired CI are left out (they are inert,
and could not be re-created).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from itsm_core import audit
from itsm_core.actor import Actor
from itsm_core.cmdb import relationships as rels
from itsm_core.cmdb import service
from itsm_core.cmdb.bulk_formats import Record, read, write
from itsm_core.cmdb.bulk_plan import Plan, PlannedCI, build_plan
from itsm_core.cmdb.choices import BulkFormat, Lifecycle
from itsm_core.cmdb.classes import SITE, class_names
from itsm_core.cmdb.models import CIRelationship, ConfigurationItem
from itsm_core.errors import FulcrumError, ValidationFailed
from itsm_core.people.models import Group

MAX_ERRORS = 200


@dataclass
class ImportReport:
    """What an import did (or, in a dry run, would do)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    relationships_created: int = 0
    relationships_unchanged: int = 0
    dry_run: bool = False
    created_ids: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "relationships_created": self.relationships_created,
            "relationships_unchanged": self.relationships_unchanged,
            "dry_run": self.dry_run,
        }


def _row_number(key: str) -> int:
    number = key.removeprefix("row ").partition(":")[0]
    return int(number) if number.isdigit() else 0


def raise_if(errors: dict[str, list[str]]) -> None:
    """One ``ValidationFailed`` naming every problem (the first ``MAX_ERRORS``)."""
    if not errors:
        return
    ordered = sorted(errors.items(), key=lambda item: _row_number(item[0]))
    shown = dict(ordered[:MAX_ERRORS])
    more = len(errors) - len(shown)
    detail = f"{len(errors)} problem(s) in the file; nothing was imported"
    if more:
        detail += f" (the first {MAX_ERRORS} are listed)"
    raise ValidationFailed(detail, errors=shown)


def _keyed(row: int, exc: FulcrumError) -> dict[str, list[str]]:
    if not exc.errors:
        return {f"row {row}": [exc.detail]}
    return {f"row {row}: {key}": messages for key, messages in exc.errors.items()}


def _apply_ci(session: Session, actor: Actor, item: PlannedCI, plan: Plan) -> bool:
    """Create or update one CI; return whether anything changed."""
    site_id = plan.site_id_now(item)
    if item.existing is None:
        data = {**item.fields, "class": item.ci_class, "name": item.name}
        if site_id is not None:
            data["site_id"] = site_id
        item.ci = service.create_ci(session, actor, data)
        return True
    item.ci = item.existing
    fields = dict(item.fields)
    if site_id is not None:
        fields["site_id"] = site_id
    return bool(service.update_ci(session, actor, item.existing, fields))


def import_estate(
    session: Session,
    actor: Actor,
    content: bytes | str,
    fmt: BulkFormat,
    *,
    dry_run: bool = False,
) -> ImportReport:
    """Load a CSV or YAML file into the CMDB, all or nothing (see the module docstring)."""
    plan = build_plan(session, read(content, fmt))
    raise_if(plan.errors)
    report = ImportReport(dry_run=dry_run)
    errors: dict[str, list[str]] = {}
    savepoint = session.begin_nested()
    try:
        changed: set[int] = set()
        for item in plan.ordered_cis():
            try:
                if _apply_ci(session, actor, item, plan):
                    changed.add(item.row)
            except FulcrumError as exc:
                errors.update(_keyed(item.row, exc))
        for item in plan.deferred_sites():
            try:
                assert item.ci is not None
                if service.update_ci(session, actor, item.ci, {"site_id": plan.site_id_now(item)}):
                    changed.add(item.row)
            except FulcrumError as exc:
                errors.update(_keyed(item.row, exc))
        raise_if(errors)
        for item in plan.cis:
            if item.existing is None:
                report.created += 1
                assert item.ci is not None
                report.created_ids.append(item.ci.id)
            elif item.row in changed:
                report.updated += 1
            else:
                report.unchanged += 1
        for link in plan.relationships:
            if link.exists:
                report.relationships_unchanged += 1
                continue
            try:
                source, target = plan.ci_of(link.source), plan.ci_of(link.target)
                rels.create_relationship(
                    session, actor, source, link.relation, target, redundant=link.redundant
                )
                report.relationships_created += 1
            except FulcrumError as exc:
                errors.update(_keyed(link.row, exc))
        raise_if(errors)
        audit.record(session, actor, "cmdb.import", "cmdb", fmt.value, after=report.summary())
    except BaseException:
        savepoint.rollback()
        raise
    if dry_run:
        savepoint.rollback()
    else:
        savepoint.commit()
    return report


# --- export -----------------------------------------------------------------------


def reference(ci: ConfigurationItem) -> str:
    """How a file refers to ``ci``: by discovery identity if it has one, else class:name."""
    if ci.external_id is not None:
        return f"ext:{ci.source}:{ci.external_id}"
    return f"{ci.ci_class}:{ci.name}"


def _ci_record(
    ci: ConfigurationItem, sites: dict[int, ConfigurationItem], groups: dict[int, str]
) -> dict[str, Any]:
    record: dict[str, Any] = {"class": ci.ci_class, "name": ci.name}
    if ci.external_id is not None:
        record["external_id"] = ci.external_id
    record["source"] = ci.source
    site = sites.get(ci.site_id) if ci.site_id is not None else None
    if site is not None:
        record["site"] = site.name if site.external_id is None else reference(site)
    if ci.owner_group_id is not None:
        record["owner_group"] = groups[ci.owner_group_id]
    record["criticality"] = ci.criticality.value
    record["lifecycle"] = ci.lifecycle.value
    if ci.tags:
        record["tags"] = list(ci.tags)
    if ci.management_address:
        record["management_address"] = ci.management_address
    if ci.description:
        record["description"] = ci.description
    if ci.attributes:
        record["attributes"] = dict(sorted(ci.attributes.items()))
    return record


def export_estate(session: Session, fmt: BulkFormat, *, include_retired: bool = False) -> str:
    """The CMDB as a file that ``import_estate`` reads back unchanged."""
    stmt = select(ConfigurationItem)
    if not include_retired:
        stmt = stmt.where(ConfigurationItem.lifecycle != Lifecycle.RETIRED)
    order = {name: i for i, name in enumerate([SITE, *(n for n in class_names() if n != SITE)])}
    cis = sorted(session.scalars(stmt), key=lambda c: (order.get(c.ci_class, len(order)), c.id))
    by_id = {ci.id: ci for ci in cis}
    sites = {ci.id: ci for ci in cis if ci.ci_class == SITE}
    groups = dict(session.execute(select(Group.id, Group.name)).all())
    records = [_ci_record(ci, sites, groups) for ci in cis]
    links = []
    for rel in session.scalars(select(CIRelationship).order_by(CIRelationship.id)):
        source, target = by_id.get(rel.source_id), by_id.get(rel.target_id)
        if source is None or target is None:
            continue
        if Lifecycle.RETIRED in (source.lifecycle, target.lifecycle):
            continue
        link: dict[str, Any] = {
            "from": reference(source),
            "relation": rel.relation.value,
            "to": reference(target),
        }
        if rel.redundant:
            link["redundant"] = True
        links.append(link)
    return write(fmt, records, links)


__all__ = ["ImportReport", "Record", "export_estate", "import_estate", "reference"]
