"""Request and response shapes of ``/api/v1/series``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints, model_validator

from collectors.choices import Resolution
from collectors.store.filters import SeriesFilter
from collectors.store.models import Series
from collectors.store.queries import Point, SeriesPoints
from itsm_core.fields import MAX_DB_ID

# Longest range one request may ask for, and the default when ``start`` is omitted.
MAX_SPAN = timedelta(days=400)
DEFAULT_SPAN = {Resolution.RAW: timedelta(hours=1), Resolution.FIVE_MINUTES: timedelta(days=1)}

LabelMatch = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*=.*$", max_length=400)
]


class SeriesListQuery(BaseModel):
    """Filters of the series list, and the page position."""

    metric: str | None = Field(default=None, min_length=1, max_length=200)
    ci_id: int | None = Field(default=None, ge=1, le=MAX_DB_ID, description="Bound to this CI.")
    label: list[LabelMatch] = Field(
        default_factory=list,
        max_length=10,
        description="`name=value`; repeat for more (all must match).",
    )
    cursor: str | None = Field(default=None, max_length=200, description="From `next_cursor`.")
    limit: int = Field(default=50, ge=1, le=200, description="Rows per page.")

    def to_filter(self) -> SeriesFilter:
        labels = dict(match.split("=", 1) for match in self.label)
        return SeriesFilter(metric=self.metric, labels=labels, ci_id=self.ci_id)


class SamplesQuery(BaseModel):
    """Which points of a series: a bounded time range at one resolution."""

    start: AwareDatetime | None = Field(
        default=None, description="Inclusive; default: 1 hour (raw) or 1 day (5m) before end."
    )
    end: AwareDatetime | None = Field(default=None, description="Exclusive; default: now.")
    resolution: Resolution = Resolution.RAW
    limit: int = Field(default=1000, ge=1, le=10_000, description="Most points returned.")

    @model_validator(mode="after")
    def _bounded_range(self) -> SamplesQuery:
        try:
            end = (self.end or datetime.now(UTC)).astimezone(UTC)
            start = (
                self.start.astimezone(UTC)
                if self.start is not None
                else end - DEFAULT_SPAN[self.resolution]
            )
        except OverflowError as exc:
            raise ValueError("start/end lie outside the representable time range") from exc
        if start >= end:
            raise ValueError("start must be before end")
        if end - start > MAX_SPAN:
            raise ValueError(f"the range may span at most {MAX_SPAN.days} days")
        self.start, self.end = start, end
        return self

    def window(self) -> tuple[datetime, datetime]:
        assert self.start is not None
        assert self.end is not None
        return self.start, self.end


class SeriesOut(BaseModel):
    id: int
    metric: str
    labels: dict[str, str]
    ci_id: int | None
    ci_source: str | None
    ci_external_id: str | None
    created_at: datetime
    last_sample_at: datetime | None

    @classmethod
    def of(cls, series: Series) -> SeriesOut:
        return cls(
            id=series.id,
            metric=series.metric,
            labels={str(k): str(v) for k, v in series.labels.items()},
            ci_id=series.ci_id,
            ci_source=series.ci_source,
            ci_external_id=series.ci_external_id,
            created_at=series.created_at,
            last_sample_at=series.last_sample_at,
        )


class PointOut(BaseModel):
    """A raw sample (``value``), or a 5-minute bucket (``value`` is its average)."""

    ts: datetime
    value: float
    min: float | None = None
    max: float | None = None
    count: int | None = None
    last: float | None = None

    @classmethod
    def of(cls, point: Point) -> PointOut:
        return cls(
            ts=point.ts,
            value=point.value,
            min=point.min,
            max=point.max,
            count=point.count,
            last=point.last,
        )


class SamplesOut(BaseModel):
    series: SeriesOut
    resolution: Resolution
    start: datetime
    end: datetime
    points: list[PointOut]
    next_start: datetime | None = Field(
        description="Time of the first point left out by `limit`; null when none were."
    )

    @classmethod
    def of(cls, read: SeriesPoints) -> SamplesOut:
        return cls(
            series=SeriesOut.of(read.series),
            resolution=read.resolution,
            start=read.start,
            end=read.end,
            points=[PointOut.of(p) for p in read.points],
            next_start=read.next_start,
        )
