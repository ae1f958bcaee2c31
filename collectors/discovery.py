"""Discovery: what a poll saw, written into the CMDB (every collector uses it).

``apply_discovery(session, actor, result)``:

1. upserts each ``DiscoveredCI`` by (source, external id) with ``cmdb.service.upsert_ci``
   — attributes merged, so what people added by hand survives; a ``missing`` CI seen
   again becomes ``active``;
2. ensures each ``DiscoveredRelation`` with ``cmdb.relationships.ensure_relationship``;
   ``runs_on`` and ``part_of`` are exclusive (a VM runs on one node: after a migration
   the edge to the old node goes);
3. for each class in ``result.complete``, marks the CIs of the result's sources that
   were not seen ``missing`` — never deleted — within ``result.scope`` (an external-id
   prefix, so one cluster's poll leaves another cluster's CIs alone). A result without
   any CI sweeps nothing: an empty answer is likelier a fault than an empty estate.

Cheap when nothing changed: existing CIs and edges are read in a few queries, unchanged
ones are not written through the service (no history rows, no audit entries) and only
their ``last_seen_at`` moves, in one UPDATE. A CI or relation the CMDB refuses (an
attribute out of bounds, a class clash) is reported in ``failures`` and the rest goes on;
each write runs in a savepoint so a refusal leaves nothing half-done. Only flushes: the
caller owns the transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from collectors.result import DiscoveredCI, DiscoveredRelation, PollResult
from collectors.samples import CIRef
from itsm_core.actor import Actor
from itsm_core.cmdb.choices import Lifecycle, RelationType
from itsm_core.cmdb.classes import validate_attributes
from itsm_core.cmdb.models import CIRelationship, ConfigurationItem
from itsm_core.cmdb.relationships import ensure_relationship
from itsm_core.cmdb.service import find_by_external_id, mark_missing, mark_unseen_missing, upsert_ci
from itsm_core.errors import FulcrumError
from itsm_core.timeutil import utcnow

EXCLUSIVE_RELATIONS = frozenset({RelationType.RUNS_ON, RelationType.PART_OF})
_INVERSE = {RelationType.HOSTS: RelationType.RUNS_ON}
_CHUNK = 500  # ids per IN (…) list


@dataclass
class DiscoveryReport:
    """What ``apply_discovery`` did; CI lists hold CI ids."""

    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    reappeared: list[int] = field(default_factory=list)
    unchanged: int = 0
    missing: list[int] = field(default_factory=list)
    relations_created: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.missing or self.relations_created)


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _existing(session: Session, refs: Iterable[CIRef]) -> dict[CIRef, ConfigurationItem]:
    by_source: dict[str, list[str]] = defaultdict(list)
    for ref in refs:
        by_source[ref.source].append(ref.external_id)
    found: dict[CIRef, ConfigurationItem] = {}
    for source, ids in by_source.items():
        for chunk in _chunks(ids):
            stmt = select(ConfigurationItem).where(
                ConfigurationItem.source == source, ConfigurationItem.external_id.in_(chunk)
            )
            for ci in session.scalars(stmt):
                assert ci.external_id is not None
                found[CIRef(source, ci.external_id)] = ci
    return found


def _attributes(seen: DiscoveredCI) -> dict[str, Any]:
    # An attribute the collector does not know is left alone, not cleared.
    return {key: value for key, value in seen.attributes.items() if value is not None}


def _unchanged(ci: ConfigurationItem, seen: DiscoveredCI) -> bool:
    """True if upserting ``seen`` would change nothing but ``last_seen_at``."""
    if ci.ci_class != seen.ci_class or ci.name != seen.name.strip():
        return False
    if ci.lifecycle == Lifecycle.MISSING:
        return False
    try:
        wanted = validate_attributes(seen.ci_class, _attributes(seen))
    except FulcrumError:
        return False  # let the upsert report it
    current = ci.attributes or {}
    return all(key in current and current[key] == value for key, value in wanted.items())


def _upsert_cis(
    session: Session,
    actor: Actor,
    cis: Sequence[DiscoveredCI],
    report: DiscoveryReport,
    failed: set[CIRef],
) -> dict[CIRef, ConfigurationItem]:
    existing = _existing(session, (seen.ref for seen in cis))
    resolved: dict[CIRef, ConfigurationItem] = {}
    untouched: list[int] = []
    for seen in cis:
        ci = existing.get(seen.ref)
        if ci is not None and _unchanged(ci, seen):
            untouched.append(ci.id)
            resolved[seen.ref] = ci
            continue
        was_missing = ci is not None and ci.lifecycle == Lifecycle.MISSING
        data = {"class": seen.ci_class, "name": seen.name, "attributes": _attributes(seen)}
        try:
            with session.begin_nested():
                outcome = upsert_ci(session, actor, seen.ref.source, seen.ref.external_id, data)
        except FulcrumError as exc:
            report.failures.append(f"{seen.ref.source}:{seen.ref.external_id}: {exc}")
            failed.add(seen.ref)
            continue
        resolved[seen.ref] = outcome.ci
        if outcome.created:
            report.created.append(outcome.ci.id)
        elif outcome.changes:
            report.updated.append(outcome.ci.id)
            if was_missing and outcome.ci.lifecycle == Lifecycle.ACTIVE:
                report.reappeared.append(outcome.ci.id)
        else:
            report.unchanged += 1
    report.unchanged += len(untouched)
    now = utcnow()
    for chunk in _chunks(untouched):
        # updated_at stays: nothing about the CI changed, it was only seen again.
        session.execute(
            update(ConfigurationItem)
            .where(ConfigurationItem.id.in_(chunk))
            .values(last_seen_at=now, updated_at=ConfigurationItem.updated_at)
            .execution_options(synchronize_session="fetch")
        )
    return resolved


def _resolve(
    session: Session, ref: CIRef, resolved: dict[CIRef, ConfigurationItem]
) -> ConfigurationItem | None:
    if ref not in resolved:
        found = find_by_external_id(session, ref.source, ref.external_id)
        if found is None:
            return None
        resolved[ref] = found
    return resolved[ref]


class _Edges:
    """The existing edges among some CIs, read once, inverse forms folded in."""

    def __init__(self, session: Session, ids: Sequence[int]) -> None:
        self.any: set[tuple[int, RelationType, int]] = set()
        self.direct: dict[tuple[int, RelationType], set[int]] = defaultdict(set)
        for chunk in _chunks(ids):
            stmt = select(CIRelationship).where(
                or_(CIRelationship.source_id.in_(chunk), CIRelationship.target_id.in_(chunk))
            )
            for rel in session.scalars(stmt):
                self.direct[(rel.source_id, rel.relation)].add(rel.target_id)
                self.any.add((rel.source_id, rel.relation, rel.target_id))
                if rel.relation in _INVERSE:
                    self.any.add((rel.target_id, _INVERSE[rel.relation], rel.source_id))

    def in_place(self, source: int, relation: RelationType, target: int) -> bool:
        """True if ``ensure_relationship`` would find nothing to do."""
        if (source, relation, target) not in self.any:
            return False
        if relation in EXCLUSIVE_RELATIONS:
            return not (self.direct.get((source, relation), set()) - {target})
        return True


def _ensure_relations(
    session: Session,
    actor: Actor,
    relations: Sequence[DiscoveredRelation],
    resolved: dict[CIRef, ConfigurationItem],
    report: DiscoveryReport,
    failed: set[CIRef],
) -> None:
    pairs: list[tuple[DiscoveredRelation, ConfigurationItem, ConfigurationItem]] = []
    for seen in relations:
        if seen.source in failed or seen.target in failed:
            continue  # its CI was refused, and reported
        source = _resolve(session, seen.source, resolved)
        target = _resolve(session, seen.target, resolved)
        if source is None or target is None:
            report.failures.append(
                f"{seen.source.external_id} {seen.relation} {seen.target.external_id}: "
                "an end is not in the CMDB"
            )
            continue
        if Lifecycle.RETIRED in (source.lifecycle, target.lifecycle):
            continue  # a person retired it; discovery does not relink it
        pairs.append((seen, source, target))
    edges = _Edges(session, sorted({ci.id for _, s, t in pairs for ci in (s, t)}))
    for seen, source, target in pairs:
        try:
            relation = RelationType(seen.relation)
        except ValueError:
            report.failures.append(f"{seen.source.external_id}: unknown relation {seen.relation!r}")
            continue
        if edges.in_place(source.id, relation, target.id):
            continue
        try:
            with session.begin_nested():
                _, created = ensure_relationship(
                    session,
                    actor,
                    source,
                    relation,
                    target,
                    exclusive=relation in EXCLUSIVE_RELATIONS,
                )
        except FulcrumError as exc:
            report.failures.append(
                f"{seen.source.external_id} {relation} {seen.target.external_id}: {exc}"
            )
            continue
        report.relations_created += int(created)


def _sweep(
    session: Session, actor: Actor, result: PollResult, cis: Sequence[DiscoveredCI]
) -> list[int]:
    seen_by_source: dict[str, set[str]] = defaultdict(set)
    for seen in cis:
        seen_by_source[seen.ref.source].add(seen.ref.external_id)
    lost: list[ConfigurationItem] = []
    for source, seen_ids in sorted(seen_by_source.items()):
        classes = sorted(result.complete)
        if result.scope is None:
            lost += mark_unseen_missing(session, actor, source, seen_ids, ci_classes=classes)
            continue
        stmt = select(ConfigurationItem).where(
            ConfigurationItem.source == source,
            ConfigurationItem.ci_class.in_(classes),
            ConfigurationItem.external_id.startswith(result.scope, autoescape=True),
            ConfigurationItem.lifecycle.in_([Lifecycle.ACTIVE, Lifecycle.MAINTENANCE]),
        )
        for ci in session.scalars(stmt.order_by(ConfigurationItem.id)):
            if ci.external_id not in seen_ids and mark_missing(session, actor, ci):
                lost.append(ci)
    return [ci.id for ci in lost]


def apply_discovery(session: Session, actor: Actor, result: PollResult) -> DiscoveryReport:
    """Write ``result``'s CIs and relations into the CMDB (see the module docstring)."""
    report = DiscoveryReport()
    unique = list({seen.ref: seen for seen in result.cis}.values())
    failed: set[CIRef] = set()
    resolved = _upsert_cis(session, actor, unique, report, failed)
    _ensure_relations(session, actor, result.relations, resolved, report, failed)
    if result.complete and unique:
        report.missing = _sweep(session, actor, result, unique)
    session.flush()
    return report
