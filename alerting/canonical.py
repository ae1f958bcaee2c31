"""The one alert shape every source is mapped onto before the pipeline sees it.

Alertmanager webhooks, the generic JSON endpoint, collector health and analytics findings
each have one small adapter producing :class:`CanonicalAlert`; from there one pipeline
de-duplicates, binds, correlates, routes and opens or updates incidents.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from sqlalchemy.orm import Session


class AlertStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class Severity(StrEnum):
    """Most to least severe; unknown severities from a source map to ``warning``."""

    CRITICAL = "critical"
    MAJOR = "major"
    WARNING = "warning"
    INFO = "info"


class AlertSourceKind(StrEnum):
    ALERTMANAGER = "alertmanager"
    GENERIC = "generic"
    COLLECTOR = "collector"
    ANALYTICS = "analytics"
    # Fulcrum about itself (the dead-man on Alertmanager's Watchdog).
    FULCRUM = "fulcrum"


@dataclass(frozen=True, slots=True)
class CanonicalAlert:
    """One alert observation from one source.

    ``fingerprint`` identifies the alert across deliveries (Alertmanager's label hash, or
    the adapter's own stable hash); ``ci_id`` is set when the source already knows the CI
    (collectors and analytics do); otherwise the pipeline binds one from the labels.
    """

    source: AlertSourceKind
    fingerprint: str
    status: AlertStatus
    severity: Severity
    name: str
    starts_at: datetime
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    ends_at: datetime | None = None
    generator_url: str | None = None
    ci_id: int | None = None


class AlertSink(Protocol):
    """What collectors and analytics are handed: somewhere to put canonical alerts.

    The caller owns the transaction: ``submit`` flushes, the caller commits.
    """

    def submit(self, session: Session, alerts: Sequence[CanonicalAlert]) -> None: ...
