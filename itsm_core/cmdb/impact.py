"""Impact analysis: what depends on a CI (downstream) and what it depends on (upstream).

Which end of each relation type depends on the other is defined on ``RelationType``:
``A runs_on|depends_on|part_of|connected_to B`` — A depends on B; ``A hosts B`` — B
depends on A. A failure travels from a dependency to its dependents, so *downstream* of
a CI is everything its failure can take down. The walk itself (one query per level,
cycle-safe, depth-bounded, redundancy-aware) is in ``itsm_core.cmdb.walk``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from itsm_core.cmdb.choices import Criticality, Direction
from itsm_core.cmdb.classes import BUSINESS_SERVICE
from itsm_core.cmdb.walk import MAX_DEPTH, Reached, Tally, start_nodes, walk
from itsm_core.errors import NotFound

__all__ = [
    "DEFAULT_DEPTH",
    "MAX_DEPTH",
    "ImpactResult",
    "ImpactSummary",
    "Reached",
    "impact",
    "impact_of_cis",
]

DEFAULT_DEPTH = 6


@dataclass(eq=False)
class ImpactResult:
    """One CI's impact analysis: the CIs reached each way, each with depth and path."""

    start: Reached
    direction: Direction
    depth: int
    downstream: list[Reached] = field(default_factory=list)
    upstream: list[Reached] = field(default_factory=list)

    @functools.cached_property
    def _tally(self) -> Tally:
        return Tally.of(self.downstream)

    @property
    def down(self) -> list[Reached]:
        """Downstream CIs that the start's failure takes down (not merely degrades)."""
        return self._tally.down

    @property
    def business_services(self) -> list[Reached]:
        return self._tally.business_services

    @property
    def degraded_business_services(self) -> list[Reached]:
        return self._tally.degraded_business_services

    @property
    def highest_criticality(self) -> Criticality | None:
        """The most critical of the start and the CIs its failure takes down."""
        return self._tally.highest(self.start.criticality)

    @property
    def affected_site_ids(self) -> list[int]:
        """The sites of the CIs the start's failure takes down."""
        return self._tally.site_ids


def impact(
    session: Session,
    ci_id: int,
    direction: Direction = Direction.DOWNSTREAM,
    depth: int = DEFAULT_DEPTH,
) -> ImpactResult:
    """The impact analysis of one CI (``NotFound`` if it does not exist)."""
    starts = start_nodes(session, [ci_id])
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
    starts = start_nodes(session, ci_ids)
    reached = walk(session, starts, Direction.DOWNSTREAM, depth) if starts else []
    tally = Tally.of(reached)
    services = [n for n in starts if n.ci_class == BUSINESS_SERVICE] + tally.business_services
    return ImpactSummary(
        ci_ids=[s.ci_id for s in starts],
        depth=depth,
        business_services=sorted(services, key=_by_criticality),
        degraded_business_services=sorted(tally.degraded_business_services, key=_by_criticality),
        highest_criticality=tally.highest(*(s.criticality for s in starts)),
        impacted=tally.down,
        degraded=tally.degraded,
        site_ids=tally.site_ids,
    )


def _by_criticality(node: Reached) -> tuple[int, str, int]:
    return (-node.criticality.rank, node.name, node.ci_id)
