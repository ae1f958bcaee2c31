"""Enumerations of the CMDB, and which way each relation type carries failure."""

from __future__ import annotations

from enum import StrEnum


class Criticality(StrEnum):
    CLINICAL_CRITICAL = "clinical_critical"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"

    @property
    def rank(self) -> int:
        """Higher is more critical: ``low`` 0 … ``clinical_critical`` 3."""
        return _CRITICALITY_RANK[self]


_CRITICALITY_RANK = {
    Criticality.LOW: 0,
    Criticality.NORMAL: 1,
    Criticality.HIGH: 2,
    Criticality.CLINICAL_CRITICAL: 3,
}


def highest(values: list[Criticality]) -> Criticality | None:
    """The most critical of ``values`` (None for none)."""
    return max(values, key=lambda c: c.rank) if values else None


class Lifecycle(StrEnum):
    PLANNED = "planned"
    ACTIVE = "active"
    MAINTENANCE = "maintenance"
    # Discovery no longer sees it; kept (never deleted) until someone retires it.
    MISSING = "missing"
    RETIRED = "retired"


class RelationType(StrEnum):
    """Directed: ``source <type> target`` reads as a sentence (``vm runs_on node``).

    Which end depends on which (so which way a failure travels):

    ===============  ==========================  =====================================
    relation         sentence                    dependent → dependency
    ===============  ==========================  =====================================
    ``runs_on``      vm runs_on hypervisor_node  source depends on target
    ``depends_on``   service depends_on app      source depends on target
    ``part_of``      interface part_of device    source depends on target
    ``connected_to`` CPE connected_to router     source depends on target: the
                                                 downlink is the source, its uplink the
                                                 target (a clinic's CPE is
                                                 ``connected_to`` its township router)
    ``hosts``        node hosts vm               target depends on source (the inverse
                                                 of ``runs_on``)
    ===============  ==========================  =====================================

    A failure of the dependency impacts the dependent: *downstream* of a CI are the CIs
    that depend on it (what its failure takes down), *upstream* the CIs it depends on.
    """

    RUNS_ON = "runs_on"
    DEPENDS_ON = "depends_on"
    CONNECTED_TO = "connected_to"
    HOSTS = "hosts"
    PART_OF = "part_of"

    @property
    def source_depends_on_target(self) -> bool:
        """True for every type but ``hosts``, whose *target* is the dependent."""
        return self is not RelationType.HOSTS


# Relations whose source is the dependent (the "forward" ones) and the inverse ones.
FORWARD_RELATIONS = frozenset(r for r in RelationType if r.source_depends_on_target)
INVERSE_RELATIONS = frozenset(RelationType) - FORWARD_RELATIONS
# Only these may be flagged redundant: "source needs one of its redundant targets".
REDUNDANCY_RELATIONS = frozenset({RelationType.DEPENDS_ON, RelationType.CONNECTED_TO})


class Direction(StrEnum):
    """Which way an impact analysis walks the dependency graph."""

    # Towards the dependents: what a failure of this CI takes down.
    DOWNSTREAM = "downstream"
    # Towards the dependencies: what this CI needs in order to work.
    UPSTREAM = "upstream"
    BOTH = "both"


class RelationshipSide(StrEnum):
    """Listing a CI's relationships: where the CI stands in each edge."""

    OUTGOING = "outgoing"  # the CI is the source
    INCOMING = "incoming"  # the CI is the target
    BOTH = "both"


class BulkFormat(StrEnum):
    CSV = "csv"
    YAML = "yaml"
