"""Plain helpers for metric-store tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from collectors.samples import CIRef, Sample
from collectors.store.keys import SeriesKey
from collectors.store.models import Series
from collectors.store.writer import write_samples

# A Monday, on a 5-minute boundary.
T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def write(
    session: Session,
    metric: str,
    points: Iterable[tuple[float, float]],
    labels: Mapping[str, str] | None = None,
    ci: CIRef | None = None,
) -> int:
    """Write ``(seconds after T0, value)`` points of one series in their own transaction;
    return the series id."""
    labels = dict(labels or {})
    batch = [Sample(metric, v, T0 + timedelta(seconds=s), labels, ci) for s, v in points]
    key = SeriesKey.of(metric, labels, ci).labels_hash()
    with session.begin():
        write_samples(session, batch)
        series_id = session.scalar(select(Series.id).where(Series.labels_hash == key))
    assert series_id is not None
    return series_id
