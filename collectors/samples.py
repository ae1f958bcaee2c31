"""Canonical samples: what every collector produces and the metric store keeps."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class CIRef:
    """A CI named the way discovery names it: the source system and its id there."""

    source: str
    external_id: str


@dataclass(frozen=True, slots=True)
class Sample:
    """One value of one series at one time.

    A series is ``metric`` + ``labels`` (+ the CI it belongs to). ``ci`` is the CI by its
    discovery identity; the store resolves it to a CI id (unknown CIs leave it unbound).
    """

    metric: str
    value: float
    ts: datetime
    labels: Mapping[str, str] = field(default_factory=dict)
    ci: CIRef | None = None
