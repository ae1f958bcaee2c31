"""The HTTP shape of an impact analysis: totals, business services, and the CIs with paths."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from itsm_core.cmdb.choices import Criticality, Direction, Lifecycle, RelationType
from itsm_core.cmdb.impact import ImpactResult, Reached


class PathStepOut(BaseModel):
    """One CI on a path; ``relation`` is the edge that led to it from the previous step."""

    model_config = ConfigDict(serialize_by_alias=True)

    id: int
    name: str
    ci_class: str = Field(serialization_alias="class")
    relation: RelationType | None
    relationship_id: int | None
    redundant: bool
    sentence: str | None = Field(description="The edge as stored, e.g. `vm-1 runs_on pve-01`")


class ImpactedCIOut(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    id: int
    name: str
    ci_class: str = Field(serialization_alias="class")
    criticality: Criticality
    lifecycle: Lifecycle
    site_id: int | None
    direction: Direction
    depth: int
    degraded: bool = Field(description="Down only if its redundant peers fail too")
    path: list[PathStepOut]

    @classmethod
    def of(cls, node: Reached) -> ImpactedCIOut:
        return cls(
            id=node.ci_id,
            name=node.name,
            ci_class=node.ci_class,
            criticality=node.criticality,
            lifecycle=node.lifecycle,
            site_id=node.site_id,
            direction=node.direction,
            depth=node.depth,
            degraded=node.degraded,
            path=[
                PathStepOut(
                    id=step.ci_id,
                    name=step.name,
                    ci_class=step.ci_class,
                    relation=step.relation,
                    relationship_id=step.relationship_id,
                    redundant=step.redundant,
                    sentence=step.sentence(),
                )
                for step in node.path
            ],
        )


class StartOut(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    id: int
    name: str
    ci_class: str = Field(serialization_alias="class")
    criticality: Criticality


class ImpactTotals(BaseModel):
    downstream: int = Field(description="CIs downstream, down or degraded")
    downstream_degraded: int
    upstream: int


class ImpactOut(BaseModel):
    """The analysis; ``cis`` lists at most ``limit`` of the reached CIs, nearest first."""

    ci: StartOut
    direction: Direction
    depth: int
    total: ImpactTotals
    highest_criticality: Criticality | None = Field(
        description="Of this CI and everything downstream that its failure takes down"
    )
    business_services: list[ImpactedCIOut]
    degraded_business_services: list[ImpactedCIOut]
    affected_site_ids: list[int]
    cis: list[ImpactedCIOut]
    truncated: bool


def impact_out(result: ImpactResult, *, classes: set[str], limit: int) -> ImpactOut:
    """Shape ``result``; only the listed CIs get their paths built (large walks stay cheap)."""
    reached = [*result.downstream, *result.upstream]
    if classes:
        reached = [n for n in reached if n.ci_class in classes]
    start = result.start
    down = result.down
    return ImpactOut(
        ci=StartOut(
            id=start.ci_id, name=start.name, ci_class=start.ci_class, criticality=start.criticality
        ),
        direction=result.direction,
        depth=result.depth,
        total=ImpactTotals(
            downstream=len(result.downstream),
            downstream_degraded=len(result.downstream) - len(down),
            upstream=len(result.upstream),
        ),
        highest_criticality=result.highest_criticality,
        business_services=[ImpactedCIOut.of(n) for n in result.business_services],
        degraded_business_services=[ImpactedCIOut.of(n) for n in result.degraded_business_services],
        affected_site_ids=result.affected_site_ids,
        cis=[ImpactedCIOut.of(n) for n in reached[:limit]],
        truncated=len(reached) > limit,
    )
