"""Impact analysis: what depends on a CI (downstream) and what it depends on (upstream).

Which end of each relation type depends on the other is defined on ``RelationType``:
``A runs_on|depends_on|part_of|connected_to B`` — A depends on B; ``A hosts B`` — B
depends on A. A failure travels from a dependency to its dependents, so *downstream* of
a CI is everything its failure can take down.

The walk is breadth-first, level by level, with **one query per level** (all edges of
the whole frontier at once, joined to the CIs they reach), never one per CI; a visited
map makes it cycle-safe, and ``depth`` bounds it. Each reached CI comes back with its
depth and the path from the start (the first shortest one found). Retired CIs are not
walked through. The frontier travels as one bound parameter (a PostgreSQL array, a JSON
array on SQLite), so every level runs the same cached statement, whatever its size.

Redundancy (downstream only): a CI that reaches a lost dependency through a
``redundant`` edge is *degraded*, not down, while another of its redundant providers of
that relation is still up; when all of them are lost (several starting CIs, or one
failure reaching every provider) it is down too. Degraded CIs are walked on, but only
as degraded, and can later be upgraded to down (each CI is expanded at most twice).
"""

from __future__ import annotations

import functools
import gc
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Integer,
    String,
    bindparam,
    func,
    literal,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, aliased

from itsm_core.cmdb.choices import (
    FORWARD_RELATIONS,
    Criticality,
    Direction,
    Lifecycle,
    RelationType,
    highest,
)
from itsm_core.cmdb.classes import BUSINESS_SERVICE
from itsm_core.cmdb.models import CIRelationship, ConfigurationItem
from itsm_core.errors import NotFound, ValidationFailed

DEFAULT_DEPTH = 6
MAX_DEPTH = 50
_CRITICALITY = {c.value: c for c in Criticality}
_LIFECYCLE = {c.value: c for c in Lifecycle}
_RELATION = {c.value: c for c in RelationType}
_DOWN, _DEGRADED = 2, 1
CI = ConfigurationItem
Rel = CIRelationship


@dataclass(slots=True, eq=False)
class Reached:
    """A CI reached by the walk (or a starting CI, at depth 0 with no parent)."""

    ci_id: int
    name: str
    ci_class: str
    criticality: Criticality
    lifecycle: Lifecycle
    site_id: int | None
    depth: int
    direction: Direction
    degraded: bool = False
    parent: Reached | None = None
    # The edge that led here from ``parent``.
    relation: RelationType | None = None
    relationship_id: int | None = None
    redundant: bool = False
    # Whether this CI is the edge's source (``self <relation> parent``) or its target.
    is_edge_source: bool = False

    @property
    def path(self) -> list[Reached]:
        """From the start CI to this one, both included."""
        steps: list[Reached] = []
        node: Reached | None = self
        while node is not None:
            steps.append(node)
            node = node.parent
        steps.reverse()
        return steps

    def sentence(self) -> str | None:
        """The edge that led here as stored: ``"vm-1 runs_on node-1"``."""
        if self.parent is None or self.relation is None:
            return None
        source, target = (self, self.parent) if self.is_edge_source else (self.parent, self)
        return f"{source.name} {self.relation.value} {target.name}"


@dataclass(frozen=True)
class _Step:
    """One sub-query of a level: which end is the frontier and which relations count."""

    frontier_is_source: bool
    relations: frozenset[RelationType]


# Downstream: dependents of the frontier. Upstream: its dependencies.
_WALKS = {
    Direction.DOWNSTREAM: (
        _Step(frontier_is_source=False, relations=FORWARD_RELATIONS),
        _Step(frontier_is_source=True, relations=frozenset({RelationType.HOSTS})),
    ),
    Direction.UPSTREAM: (
        _Step(frontier_is_source=True, relations=FORWARD_RELATIONS),
        _Step(frontier_is_source=False, relations=frozenset({RelationType.HOSTS})),
    ),
}


def _providers() -> Any:
    """Per (source, relation): how many live redundant providers the source has."""
    peer = aliased(Rel)
    provider = aliased(CI)
    return (
        select(peer.source_id, peer.relation, func.count().label("total"))
        .join(provider, provider.id == peer.target_id)
        .where(peer.redundant, provider.lifecycle != Lifecycle.RETIRED)
        .group_by(peer.source_id, peer.relation)
        .subquery("providers")
    )


def _frontier(dialect: str) -> Any:
    """The frontier as a one-column table, bound as ONE parameter ``ids``.

    One parameter whatever the frontier's size: no bind-parameter limit to split
    around, one statement text that SQLAlchemy compiles once, and a table the planner
    can join (hash or index) instead of testing a long ``IN`` list row by row.
    """
    if dialect == "postgresql":
        ids = bindparam("ids", type_=ARRAY(Integer))
        return func.unnest(ids).table_valued("value").render_derived()
    return func.json_each(bindparam("ids", type_=String)).table_valued("value")


@functools.cache
def _level_query(direction: Direction, dialect: str) -> CompoundSelect[Any]:
    """The statement of one level of the walk (enums read as plain strings: faster)."""
    parts = []
    for step in _WALKS[direction]:
        near, far = (
            (Rel.source_id, Rel.target_id)
            if step.frontier_is_source
            else (Rel.target_id, Rel.source_id)
        )
        frontier = _frontier(dialect)
        stmt = (
            select(frontier)
            .join(Rel, near == frontier.c.value)
            .join(CI, CI.id == far)
            .where(Rel.relation.in_(sorted(step.relations)), CI.lifecycle != Lifecycle.RETIRED)
        )
        total: Any = literal(0)
        if direction == Direction.DOWNSTREAM and not step.frontier_is_source:
            # Only an edge whose source is the dependent can be redundant.
            providers = _providers()
            stmt = stmt.outerjoin(
                providers,
                (providers.c.source_id == Rel.source_id)
                & (providers.c.relation == Rel.relation)
                & Rel.redundant,
            )
            total = func.coalesce(providers.c.total, 0)
        parts.append(
            stmt.with_only_columns(
                Rel.id.label("rel_id"),
                near.label("via"),
                type_coerce(Rel.relation, String).label("relation"),
                type_coerce(Rel.redundant, Integer).label("redundant"),
                total.label("providers"),
                CI.id.label("ci_id"),
                CI.name.label("name"),
                CI.ci_class.label("ci_class"),
                type_coerce(CI.criticality, String).label("criticality"),
                type_coerce(CI.lifecycle, String).label("lifecycle"),
                CI.site_id.label("site_id"),
                maintain_column_froms=True,
            )
        )
    level = union_all(*parts)
    # Reached CIs by name (so the result needs no sort but by depth); a CI reached by
    # several edges keeps the one with the lowest id: the same estate, the same paths.
    columns = level.selected_columns
    return level.order_by(columns.name, columns.ci_id, columns.rel_id)


def _bind_ids(ids: list[int], dialect: str) -> object:
    return ids if dialect == "postgresql" else json.dumps(ids)


def _starts(session: Session, ci_ids: Iterable[int]) -> list[Reached]:
    ids = sorted(set(ci_ids))
    rows = (
        session.execute(
            select(CI.id, CI.name, CI.ci_class, CI.criticality, CI.lifecycle, CI.site_id)
            .where(CI.id.in_(ids))
            .order_by(CI.id)
        ).all()
        if ids
        else []
    )
    return [
        Reached(r.id, r.name, r.ci_class, r.criticality, r.lifecycle, r.site_id, 0, Direction.BOTH)
        for r in rows
    ]


def walk(
    session: Session, starts: list[Reached], direction: Direction, depth: int
) -> list[Reached]:
    """Every CI reached from ``starts`` in ``direction`` (not BOTH) within ``depth`` edges.

    The starting CIs themselves are not in the result. Downstream, a CI reached only
    through redundancy that still holds has ``degraded=True``.
    """
    if direction == Direction.BOTH:
        raise ValueError("walk one direction at a time")
    if not 0 <= depth <= MAX_DEPTH:
        raise ValidationFailed.on("depth", f"must be between 0 and {MAX_DEPTH}")
    # The walk allocates thousands of small linked objects; a cyclic GC pass in the
    # middle of it costs more than the walk itself, and none of them is garbage yet.
    collecting = gc.isenabled()
    gc.disable()
    try:
        reached = _walk(session, starts, direction, depth)
    finally:
        if collecting:
            gc.enable()
    # Each level arrived sorted by name; only a CI upgraded from degraded moved.
    return sorted(reached.values(), key=attrgetter("depth"))


def _walk(
    session: Session, starts: list[Reached], direction: Direction, depth: int
) -> dict[int, Reached]:
    dialect = session.get_bind().dialect.name
    statement = _level_query(direction, dialect)
    downstream = direction == Direction.DOWNSTREAM
    state: dict[int, int] = {s.ci_id: _DOWN for s in starts}
    nodes: dict[int, Reached] = {s.ci_id: s for s in starts}
    lost_providers: dict[tuple[int, str], set[int]] = {}
    reached: dict[int, Reached] = {}
    frontier = sorted(state)
    level = 0
    while frontier and level < depth:
        level += 1
        improved: dict[int, None] = {}
        # As they stood when this level began (one may improve during the level).
        parents = {ci_id: (nodes[ci_id], state[ci_id]) for ci_id in frontier}
        rows = session.execute(statement, {"ids": _bind_ids(frontier, dialect)}).all()
        for (
            rel_id,
            via,
            relation,
            redundant,
            providers,
            ci_id,
            name,
            ci_class,
            criticality,
            lifecycle,
            site_id,
        ) in rows:
            parent, candidate = parents[via]
            if redundant and providers:
                # Down only once every live redundant provider of this relation is down.
                if candidate == _DOWN:
                    lost = lost_providers.setdefault((ci_id, relation), set())
                    lost.add(via)
                    candidate = _DOWN if len(lost) >= providers else _DEGRADED
                else:
                    candidate = _DEGRADED
            if candidate <= state.get(ci_id, 0):
                continue
            state[ci_id] = candidate
            # An upgraded CI moves to its new level's place (the result's order).
            reached.pop(ci_id, None)
            # Starts are down from the outset, so they are never reached again.
            nodes[ci_id] = reached[ci_id] = Reached(
                ci_id,
                name,
                ci_class,
                _CRITICALITY[criticality],
                _LIFECYCLE[lifecycle],
                site_id,
                level,
                direction,
                candidate == _DEGRADED,
                parent,
                _RELATION[relation],
                rel_id,
                bool(redundant),
                # Downstream, the reached CI is the source of a forward edge.
                (relation != "hosts") == downstream,
            )
            improved[ci_id] = None
        frontier = list(improved)
    return reached


@dataclass(eq=False)
class ImpactResult:
    """One CI's impact analysis: the CIs reached each way, each with depth and path."""

    start: Reached
    direction: Direction
    depth: int
    downstream: list[Reached] = field(default_factory=list)
    upstream: list[Reached] = field(default_factory=list)

    @functools.cached_property
    def down(self) -> list[Reached]:
        """Downstream CIs that the start's failure takes down (not merely degrades)."""
        return [n for n in self.downstream if not n.degraded]

    @property
    def business_services(self) -> list[Reached]:
        return [n for n in self.down if n.ci_class == BUSINESS_SERVICE]

    @property
    def degraded_business_services(self) -> list[Reached]:
        return [n for n in self.downstream if n.degraded and n.ci_class == BUSINESS_SERVICE]

    @property
    def highest_criticality(self) -> Criticality | None:
        """The most critical of the start and the CIs its failure takes down."""
        return highest([self.start.criticality, *(n.criticality for n in self.down)])


def impact(
    session: Session,
    ci_id: int,
    direction: Direction = Direction.DOWNSTREAM,
    depth: int = DEFAULT_DEPTH,
) -> ImpactResult:
    """The impact analysis of one CI (``NotFound`` if it does not exist)."""
    starts = _starts(session, [ci_id])
    if not starts:
        raise NotFound(f"CI {ci_id} does not exist")
    result = ImpactResult(starts[0], Direction(direction), depth)
    if direction in (Direction.DOWNSTREAM, Direction.BOTH):
        result.downstream = walk(session, starts, Direction.DOWNSTREAM, depth)
    if direction in (Direction.UPSTREAM, Direction.BOTH):
        result.upstream = walk(session, starts, Direction.UPSTREAM, depth)
    return result


@dataclass(frozen=True)
class ImpactSummary:
    """What a failure of several CIs at once (an incident's CIs) takes down.

    ``business_services`` are the business services down — downstream of the CIs, or
    among them — ``highest_criticality`` the most critical of the CIs themselves and
    everything they take down, ``site_ids`` the sites of the CIs taken down.
    """

    ci_ids: list[int]
    depth: int
    business_services: list[Reached]
    degraded_business_services: list[Reached]
    highest_criticality: Criticality | None
    impacted: list[Reached]
    degraded: list[Reached]
    site_ids: list[int]

    @property
    def clinical_critical(self) -> bool:
        return self.highest_criticality == Criticality.CLINICAL_CRITICAL


def impact_of_cis(
    session: Session, ci_ids: Iterable[int], depth: int = DEFAULT_DEPTH
) -> ImpactSummary:
    """The union of what the failure of all ``ci_ids`` takes down, as one walk.

    Ids that do not exist are ignored (the summary of nothing is empty). Because the
    CIs fail together, a service behind two redundant providers that are both in
    ``ci_ids`` (or both taken down by them) is down, not degraded.
    """
    starts = _starts(session, ci_ids)
    reached = walk(session, starts, Direction.DOWNSTREAM, depth) if starts else []
    down = [n for n in reached if not n.degraded]
    degraded = [n for n in reached if n.degraded]
    services = [n for n in [*starts, *down] if n.ci_class == BUSINESS_SERVICE]
    return ImpactSummary(
        ci_ids=[s.ci_id for s in starts],
        depth=depth,
        business_services=sorted(services, key=_by_criticality),
        degraded_business_services=sorted(
            (n for n in degraded if n.ci_class == BUSINESS_SERVICE), key=_by_criticality
        ),
        highest_criticality=highest([n.criticality for n in [*starts, *down]]),
        impacted=down,
        degraded=degraded,
        site_ids=sorted({n.site_id for n in down if n.site_id is not None}),
    )


def _by_criticality(node: Reached) -> tuple[int, str, int]:
    return (-node.criticality.rank, node.name, node.ci_id)
