"""What one poll of one target returns: samples, and the CIs it discovered."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from collectors.samples import CIRef, Sample


@dataclass(frozen=True, slots=True)
class DiscoveredRelation:
    """``source`` —relation→ ``target`` (e.g. a vm ``runs_on`` a hypervisor_node)."""

    relation: str
    source: CIRef
    target: CIRef


@dataclass(frozen=True, slots=True)
class DiscoveredCI:
    """A CI as a collector saw it; discovery upserts it by ``ref`` (source + external id)."""

    ref: CIRef
    ci_class: str
    name: str
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class PollResult:
    """One poll's yield. ``complete`` lists the CI classes this poll saw in full, so
    discovery may mark the unseen ones of that source missing.

    ``scope`` bounds that sweep to the external ids starting with it: several targets
    share a source (two Proxmox clusters, many SNMP devices), and one target's poll must
    not mark another's CIs missing. ``None`` sweeps the whole source.
    """

    target: str
    samples: list[Sample] = field(default_factory=list)
    cis: list[DiscoveredCI] = field(default_factory=list)
    relations: list[DiscoveredRelation] = field(default_factory=list)
    complete: frozenset[str] = frozenset()
    scope: str | None = None
