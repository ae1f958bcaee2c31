"""Enumerations of the CMDB."""

from __future__ import annotations

from enum import StrEnum


class Criticality(StrEnum):
    CLINICAL_CRITICAL = "clinical_critical"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class Lifecycle(StrEnum):
    PLANNED = "planned"
    ACTIVE = "active"
    MAINTENANCE = "maintenance"
    # Discovery no longer sees it; kept (never deleted) until someone retires it.
    MISSING = "missing"
    RETIRED = "retired"


class RelationType(StrEnum):
    """Directed: ``source <type> target`` reads as a sentence (``vm runs_on node``)."""

    RUNS_ON = "runs_on"
    DEPENDS_ON = "depends_on"
    CONNECTED_TO = "connected_to"
    HOSTS = "hosts"
    PART_OF = "part_of"
