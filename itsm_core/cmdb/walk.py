"""The dependency-graph walk behind impact analysis (``itsm_core.cmdb.impact``).

Which end of each relation type depends on the other is defined on ``RelationType``:
``A runs_on|depends_on|part_of|connected_to B`` — A depends on B; ``A hosts B`` — B
depends on A. A failure travels from a dependency to its dependents, so *downstream* of
a CI is everything its failure can take down.

The walk is breadth-first, level by level, with **one query per level** (all edges of
the whole frontier at once, joined to the CIs they reach), never one per CI (plus, for a
walk that meets a redundant edge, one to count redundant providers); a visited
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
from dataclasses import dataclass
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
from itsm_core.errors import ValidationFailed

MAX_DEPTH = 50
_CRITICALITY = {c.value: c for c in Criticality}
_LIFECYCLE = {c.value: c for c in Lifecycle}
_RELATION = {c.value: c for c in RelationType}
CI = ConfigurationItem
Rel = CIRelationship
# A select of any number of columns.
Rows = Select[*tuple[Any, ...]]


# The columns of a level's rows (see ``_level_query``); a starting CI gets the same shape.
_REL_ID, _VIA, _RELATION_COL, _REDUNDANT, _CI_ID = range(5)
_NAME, _CLASS, _CRITICALITY_COL, _LIFECYCLE_COL, _SITE_ID, _EXPANDABLE = range(5, 11)


class Reached:
    """A CI reached by the walk (or a starting CI, at depth 0 with no parent).

    It keeps the database row it came from and reads its fields from it on demand: a
    walk reaches tens of thousands of CIs, and copying each row field by field into an
    object costs more than the query.
    """

    __slots__ = ("_row", "degraded", "depth", "direction", "parent")

    def __init__(
        self,
        row: Sequence[Any],
        depth: int,
        direction: Direction,
        degraded: bool = False,
        parent: Reached | None = None,
    ) -> None:
        self._row = row
        self.depth = depth
        self.direction = direction
        # Downstream only: reached through redundancy that still holds, so not down.
        self.degraded = degraded
        self.parent = parent

    @property
    def ci_id(self) -> int:
        ci_id: int = self._row[_CI_ID]
        return ci_id

    @property
    def name(self) -> str:
        name: str = self._row[_NAME]
        return name

    @property
    def ci_class(self) -> str:
        ci_class: str = self._row[_CLASS]
        return ci_class

    @property
    def criticality(self) -> Criticality:
        return _CRITICALITY[self._row[_CRITICALITY_COL]]

    @property
    def lifecycle(self) -> Lifecycle:
        return _LIFECYCLE[self._row[_LIFECYCLE_COL]]

    @property
    def site_id(self) -> int | None:
        site_id: int | None = self._row[_SITE_ID]
        return site_id

    @property
    def relation(self) -> RelationType | None:
        """The relation of the edge that led here from ``parent``."""
        return _RELATION.get(self._row[_RELATION_COL])

    @property
    def relationship_id(self) -> int | None:
        rel_id: int | None = self._row[_REL_ID]
        return rel_id

    @property
    def redundant(self) -> bool:
        return bool(self._row[_REDUNDANT])

    @property
    def is_edge_source(self) -> bool:
        """Whether this CI is the edge's source (``self <relation> parent``)."""
        forward: bool = self._row[_RELATION_COL] != RelationType.HOSTS.value
        return forward == (self.direction == Direction.DOWNSTREAM)

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
        relation = self.relation
        if self.parent is None or relation is None:
            return None
        source, target = (self, self.parent) if self.is_edge_source else (self.parent, self)
        return f"{source.name} {relation.value} {target.name}"

    def __repr__(self) -> str:
        return f"Reached({self.ci_id}, {self.name!r}, depth={self.depth})"


def _redundancy(session: Session) -> dict[tuple[int, str], int]:
    """Per (dependent, relation): how many live redundant providers it has.

    Read once per walk, and only by a walk that meets a redundant edge: redundancy is
    rare, and joining it into every level would cost every row of every level.
    """
    provider = aliased(CI)
    stmt = (
        select(Rel.source_id, type_coerce(Rel.relation, String), func.count())
        .join(provider, provider.id == Rel.target_id)
        .where(Rel.redundant, provider.lifecycle != Lifecycle.RETIRED)
        .group_by(Rel.source_id, Rel.relation)
    )
    return {(source, relation): total for source, relation, total in session.execute(stmt)}


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
def _level_query(direction: Direction, dialect: str, last: bool) -> Rows:
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
        select(
            Rel.id.label("rel_id"),
            near.label("via"),
            type_coerce(Rel.relation, String).label("relation"),
            type_coerce(Rel.redundant, Integer).label("redundant"),
            CI.id.label("ci_id"),
            CI.name.label("name"),
            CI.ci_class.label("ci_class"),
            type_coerce(CI.criticality, String).label("criticality"),
            type_coerce(CI.lifecycle, String).label("lifecycle"),
            CI.site_id.label("site_id"),
            _expandable(far, downstream, last).label("expandable"),
        )
        .select_from(Rel)
        .join(CI, CI.id == far)
        .where(_in_frontier(near, dialect), CI.lifecycle != Lifecycle.RETIRED)
    )
    # By CI id (so the result needs no sort but by depth), and a CI reached by several
    # edges keeps the lowest edge id: the same estate always gives the same paths.
    return stmt.order_by(CI.id, Rel.id)


def _fetch(session: Session, statement: Rows, ids: object) -> Sequence[Any]:
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


def start_nodes(session: Session, ci_ids: Iterable[int]) -> list[Reached]:
    ids = sorted(set(ci_ids))
    if not ids:
        return []
    stmt = (
        select(
            CI.id,
            CI.name,
            CI.ci_class,
            type_coerce(CI.criticality, String),
            type_coerce(CI.lifecycle, String),
            CI.site_id,
        )
        .where(CI.id.in_(ids))
        .order_by(CI.id)
    )
    return [
        Reached((None, None, None, 0, *row, 1), 0, Direction.BOTH)
        for row in session.execute(stmt).all()
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
    providers: dict[tuple[int, str], int] | None = None
    # Every CI met so far, the starts first, each as last reached (a degraded CI may be
    # reached again, down: it then moves to the end, its new level).
    nodes: dict[int, Reached] = {s.ci_id: s for s in starts}
    lost_providers: dict[tuple[int, str], set[int]] = {}
    make = Reached
    frontier = sorted(nodes)
    level = 0
    while frontier and level < depth:
        level += 1
        # As they stood when this level began (one may be upgraded during the level).
        parents = {ci_id: nodes[ci_id] for ci_id in frontier}
        improved: list[int] = []
        statement = _level_query(direction, dialect, level == depth)
        for row in _fetch(session, statement, _bind_ids(frontier, dialect)):
            (_r, via, relation, redundant, ci_id, _n, _c, _k, _l, _s, _e) = row
            parent = parents[via]
            degraded = parent.degraded
            if redundant and downstream:
                # Down only once every live redundant provider of this relation is down
                # (a redundant edge is always source-depends-on-target).
                if providers is None:
                    providers = _redundancy(session)
                degraded = True
                if not parent.degraded:
                    lost = lost_providers.setdefault((ci_id, relation), set())
                    lost.add(via)
                    degraded = len(lost) < providers.get((ci_id, relation), 1)
            known = nodes.get(ci_id)
            if known is not None:
                if degraded or not known.degraded:
                    continue  # seen already, and this is no better (starts are down)
                del nodes[ci_id]
            nodes[ci_id] = make(row, level, direction, degraded, parent)
            if row[_EXPANDABLE]:
                improved.append(ci_id)
        frontier = list(dict.fromkeys(improved))
    return list(nodes.values())[len(starts) :]


_RANK = {c.value: c.rank for c in Criticality}


@dataclass(frozen=True)
class Tally:
    """One pass over a downstream walk: what is down, what degraded, and their summary."""

    down: list[Reached]
    degraded: list[Reached]
    business_services: list[Reached]
    degraded_business_services: list[Reached]
    highest_rank: int
    site_ids: list[int]

    @classmethod
    def of(cls, nodes: Iterable[Reached]) -> Tally:
        down: list[Reached] = []
        degraded: list[Reached] = []
        services: list[Reached] = []
        degraded_services: list[Reached] = []
        sites: set[int] = set()
        rank = -1
        for node in nodes:
            row = node._row
            is_service = row[_CLASS] == BUSINESS_SERVICE
            if node.degraded:
                degraded.append(node)
                if is_service:
                    degraded_services.append(node)
                continue
            down.append(node)
            if is_service:
                services.append(node)
            rank = max(rank, _RANK[row[_CRITICALITY_COL]])
            if row[_SITE_ID] is not None:
                sites.add(row[_SITE_ID])
        return cls(down, degraded, services, degraded_services, rank, sorted(sites))

    def highest(self, *others: Criticality) -> Criticality | None:
        return highest([*others, *(c for c in Criticality if c.rank == self.highest_rank)])
