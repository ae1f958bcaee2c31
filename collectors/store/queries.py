"""What the HTTP API reads from the metric store: series lists and one series' points."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from collectors.choices import Resolution
from collectors.store.filters import SeriesFilter
from collectors.store.models import Rollup, Series, StoredSample
from itsm_core.errors import NotFound


@dataclass(frozen=True, slots=True)
class Point:
    """One point of a series: a raw sample (only ``value``) or a 5-minute bucket."""

    ts: datetime
    value: float
    min: float | None = None
    max: float | None = None
    count: int | None = None
    last: float | None = None


@dataclass(frozen=True, slots=True)
class SeriesPoints:
    """A series' points in ``[start, end)``, oldest first, at most ``limit`` of them.

    ``next_start`` is the time of the first point left out (``None`` when none were): ask
    again with ``start=next_start`` for the rest.
    """

    series: Series
    resolution: Resolution
    start: datetime
    end: datetime
    points: list[Point]
    next_start: datetime | None


def series_query(flt: SeriesFilter) -> Select[Any]:
    """The series matching ``flt`` (for cursor pagination by id)."""
    return flt.apply(select(Series))


def get_series(session: Session, series_id: int) -> Series:
    series = session.get(Series, series_id)
    if series is None:
        raise NotFound(f"series {series_id} does not exist")
    return series


def read_points(
    session: Session,
    series_id: int,
    start: datetime,
    end: datetime,
    resolution: Resolution,
    limit: int,
) -> SeriesPoints:
    """Up to ``limit`` points of one series in ``[start, end)``, oldest first."""
    series = get_series(session, series_id)
    points: list[Point]
    if resolution is Resolution.RAW:
        raw = session.execute(
            select(StoredSample.ts, StoredSample.value)
            .where(StoredSample.series_id == series_id)
            .where(StoredSample.ts >= start, StoredSample.ts < end)
            .order_by(StoredSample.ts)
            .limit(limit + 1)
        ).all()
        points = [Point(ts=ts, value=value) for ts, value in raw]
    else:
        buckets = session.scalars(
            select(Rollup)
            .where(Rollup.series_id == series_id)
            .where(Rollup.bucket_start >= start, Rollup.bucket_start < end)
            .order_by(Rollup.bucket_start)
            .limit(limit + 1)
        ).all()
        points = [
            Point(ts=b.bucket_start, value=b.avg, min=b.min, max=b.max, count=b.count, last=b.last)
            for b in buckets
        ]
    next_start = points[limit].ts if len(points) > limit else None
    return SeriesPoints(series, resolution, start, end, points[:limit], next_start)
