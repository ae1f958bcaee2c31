"""The one entry of the alert pipeline: ``ingest`` canonical alerts; ``receive`` a webhook.

Every source — Alertmanager and the generic endpoint through ``receive``, collectors
and analytics through ``PipelineSink`` — ends in :func:`ingest`, which

1. takes out Alertmanager's always-firing heartbeat (``deadman``);
2. de-duplicates by fingerprint (``dedup``): repeats cost one UPDATE for the payload;
3. runs what changed through the pipeline (``pipeline``): CI binding, flapping,
   suppression, correlation, routing, incidents opened, joined, reopened or resolved.

It only flushes: the caller owns the transaction (the API commits before answering, so
a 2xx means the alerts are stored). ``receive`` first records the delivery's digest: a
retried or repeated delivery is recognised and creates nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from alerting import deadman, dedup
from alerting.canonical import AlertSourceKind, CanonicalAlert
from alerting.intake_models import WebhookDelivery
from alerting.links import insert_ignoring
from alerting.pipeline import Pipeline
from alerting.settings import AlertingSettings
from itsm_core.errors import ValidationFailed
from itsm_core.incidents.priority import PriorityMatrix
from itsm_core.settings import Settings
from itsm_core.timeutil import utcnow


@dataclass
class IngestResult:
    """What one call did (the webhook answers with it)."""

    received: int
    duplicate_delivery: bool = False
    heartbeats: int = 0
    new: int = 0
    repeats: int = 0
    refired: int = 0
    resolved: int = 0
    stale: int = 0
    suppressed: int = 0
    damped: int = 0
    incidents_opened: list[int] = field(default_factory=list)
    incidents_joined: list[int] = field(default_factory=list)
    incidents_reopened: list[int] = field(default_factory=list)
    incidents_resolved: list[int] = field(default_factory=list)
    incidents_adopted: list[int] = field(default_factory=list)


def ingest(
    session: Session,
    alerts: Sequence[CanonicalAlert],
    *,
    settings: Settings,
    now: datetime | None = None,
) -> IngestResult:
    """Run ``alerts`` through the pipeline in the caller's transaction (flush only)."""
    cfg = settings.section(AlertingSettings)
    now = now or utcnow()
    if len(alerts) > cfg.max_alerts_per_payload:
        raise ValidationFailed.on(
            "alerts", f"at most {cfg.max_alerts_per_payload} alerts per payload"
        )
    result = IngestResult(received=len(alerts))
    unique = dedup.unique(alerts)
    beats = [a for a in unique if deadman.is_heartbeat(a, cfg)]
    if beats:
        result.heartbeats = len(beats)
        deadman.record_heartbeat(session, beats, cfg, now)
        unique = [a for a in unique if not deadman.is_heartbeat(a, cfg)]
    if not unique:
        return result
    staged = dedup.stage(session, unique, now)
    result.repeats += staged.repeats
    result.stale += staged.stale
    if staged.new or staged.changed:
        matrix = PriorityMatrix.from_settings(settings.incidents)
        Pipeline(session, cfg, matrix, now, result).run(staged)
    return result


def record_delivery(
    session: Session,
    source: AlertSourceKind,
    digest: str,
    alert_count: int,
    received_by: str,
    now: datetime,
) -> bool:
    """Remember a delivery by its content digest; False if it was delivered before.

    ``INSERT … ON CONFLICT DO NOTHING``: of two identical deliveries arriving together,
    the second waits for the first to commit and then finds it (PostgreSQL), or runs
    after it (SQLite's single writer).
    """
    row = {
        "source": source,
        "digest": digest,
        "alert_count": alert_count,
        "received_by": received_by[:100],
        "received_at": now,
    }
    stmt = insert_ignoring(session, WebhookDelivery).returning(WebhookDelivery.id)
    return session.execute(stmt, row).first() is not None


def receive(
    session: Session,
    source: AlertSourceKind,
    digest: str,
    alerts: Sequence[CanonicalAlert],
    *,
    received_by: str,
    settings: Settings,
    now: datetime | None = None,
) -> IngestResult:
    """One webhook delivery: skipped if seen before, else recorded and ingested."""
    cfg = settings.section(AlertingSettings)
    now = now or utcnow()
    if len(alerts) > cfg.max_alerts_per_payload:
        raise ValidationFailed.on(
            "alerts", f"at most {cfg.max_alerts_per_payload} alerts per payload"
        )
    if not record_delivery(session, source, digest, len(alerts), received_by, now):
        return IngestResult(received=len(alerts), duplicate_delivery=True)
    return ingest(session, alerts, settings=settings, now=now)


def prune_deliveries(session: Session, settings: Settings, now: datetime) -> int:
    """Forget delivery digests older than ``[alerting] delivery_retention_hours``.

    A delivery replayed after that is still harmless: de-duplication by fingerprint
    turns it into repeats.
    """
    cfg = settings.section(AlertingSettings)
    cutoff = now - timedelta(hours=cfg.delivery_retention_hours)
    result = session.execute(
        delete(WebhookDelivery).where(WebhookDelivery.received_at < cutoff),
        execution_options={"synchronize_session": False},
    )
    return int(getattr(result, "rowcount", 0) or 0)


class PipelineSink:
    """The ``AlertSink`` collectors and analytics are handed: submits into ``ingest``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def submit(self, session: Session, alerts: Sequence[CanonicalAlert]) -> None:
        size = self.settings.section(AlertingSettings).max_alerts_per_payload
        for start in range(0, len(alerts), size):
            ingest(session, alerts[start : start + size], settings=self.settings)
