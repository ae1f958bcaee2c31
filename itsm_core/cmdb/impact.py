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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    String,
    any_,
    bindparam,
    exists,
    func,
    literal,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, aliased

from itsm_core.cmdb.choices import (
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


def _in_frontier(column: Any, dialect: str) -> Any:
    """``column`` is in the frontier, which is bound as ONE parameter ``ids``.

    One parameter whatever the frontier's size (an integer array on PostgreSQL, a JSON
    array text on SQLite): no bind-parameter limit to split around, one statement that
    SQLAlchemy compiles once, and thousands of ids bound far faster than one by one.
    """
    if dialect == "postgresql":
        return column == any_(bindparam("ids", type_=ARRAY(Integer)))
    ids = bindparam("ids", type_=String)
    return column.in_(select(func.json_each(ids).table_valued("value").c.value))


def _expandable(ci_id: Any, downstream: bool, last: bool) -> Any:
    """Whether the reached CI has edges of its own to follow (none asked on the last level)."""
    if last:
        return literal(0)
    onward = aliased(Rel)
    column = onward.dependency_id if downstream else onward.dependent_id
    return exists(select(1).select_from(onward).where(column == ci_id))


def _bind_ids(ids: list[int], dialect: str) -> object:
    return ids if dialect == "postgresql" else f"[{','.join(map(str, ids))}]"


@functools.cache
def _level_query(direction: Direction, dialect: str, last: bool) -> Select[Any]:
    """The statement of one level of the walk (enums read as plain strings: faster).

    It follows the ``dependent_id``/``dependency_id`` columns the database computes from
    each relation type: downstream from dependency to dependent, upstream the reverse.
    Each reached CI says whether it has edges to follow (``expandable``), so leaves —
    most of an estate: interfaces, services — never fill the next frontier; the ``last``
    level skips that question.
    """
    downstream = direction == Direction.DOWNSTREAM
    near, far = (
        (Rel.dependency_id, Rel.dependent_id)
        if downstream
        else (Rel.dependent_id, Rel.dependency_id)
    )
    stmt = (
        select(Rel)
        .join(CI, CI.id == far)
        .where(_in_frontier(near, dialect), CI.lifecycle != Lifecycle.RETIRED)
    )
    total: Any = literal(0)
    if downstream:
        # A redundant edge is always source-depends-on-target (depends_on, connected_to).
        providers = _providers()
        stmt = stmt.outerjoin(
            providers,
            (providers.c.source_id == Rel.source_id)
            & (providers.c.relation == Rel.relation)
            & Rel.redundant,
        )
        total = func.coalesce(providers.c.total, 0)
    stmt = stmt.with_only_columns(
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
        _expandable(far, downstream, last).label("expandable"),
        maintain_column_froms=True,
    )
    # By CI id (so the result needs no sort but by depth), and a CI reached by several
    # edges keeps the lowest edge id: the same estate always gives the same paths.
    return stmt.order_by(CI.id, Rel.id)


def _fetch(session: Session, statement: Select[Any], ids: object) -> Sequence[Any]:
    """All rows of one level as the driver's plain tuples.

    A level can bring back tens of thousands of rows; wrapping each in a SQLAlchemy
    ``Row`` costs as much as running the query, so they are read from the DBAPI cursor
    (the statement still goes through SQLAlchemy: compiled once, events, logging).
    """
    result = session.connection().execute(statement, {"ids": ids})
    try:
        rows: Sequence[Any] = result.cursor.fetchall()
    finally:
        result.close()
    return rows


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
    # Each level arrived by CI id; only a CI upgraded from degraded moved.
    return sorted(reached, key=attrgetter("depth"))


def _walk(
    session: Session, starts: list[Reached], direction: Direction, depth: int
) -> list[Reached]:
    dialect = session.get_bind().dialect.name
    downstream = direction == Direction.DOWNSTREAM
    # Every CI met so far, the starts first, each as last reached (a degraded CI may be
    # reached again, down: it then moves to the end, its new level).
    nodes: dict[int, Reached] = {s.ci_id: s for s in starts}
    lost_providers: dict[tuple[int, str], set[int]] = {}
    criticalities, lifecycles, relations, make = _CRITICALITY, _LIFECYCLE, _RELATION, Reached
    frontier = sorted(nodes)
    level = 0
    while frontier and level < depth:
        level += 1
        # As they stood when this level began (one may be upgraded during the level).
        parents = {ci_id: nodes[ci_id] for ci_id in frontier}
        improved: list[int] = []
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
            expandable,
        ) in _fetch(
            session, _level_query(direction, dialect, level == depth), _bind_ids(frontier, dialect)
        ):
            parent = parents[via]
            degraded = parent.degraded
            if redundant and providers:
                # Down only once every live redundant provider of this relation is down.
                degraded = True
                if not parent.degraded:
                    lost = lost_providers.setdefault((ci_id, relation), set())
                    lost.add(via)
                    degraded = len(lost) < providers
            known = nodes.get(ci_id)
            if known is not None:
                if degraded or not known.degraded:
                    continue  # seen already, and this is no better (starts are down)
                del nodes[ci_id]
            nodes[ci_id] = make(
                ci_id,
                name,
                ci_class,
                criticalities[criticality],
                lifecycles[lifecycle],
                site_id,
                level,
                direction,
                degraded,
                parent,
                relations[relation],
                rel_id,
                bool(redundant),
                # Downstream, the reached CI is the source of a forward edge.
                (relation != "hosts") == downstream,
            )
            if expandable:
                improved.append(ci_id)
        frontier = list(dict.fromkeys(improved))
    return list(nodes.values())[len(starts) :]


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
