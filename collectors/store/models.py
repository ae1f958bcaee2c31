"""ORM models of the metric store: series, raw samples and 5-minute roll-ups.

A *series* is a metric name plus its labels (plus the CI reference the collector gave);
its samples live in a narrow ``samples`` table keyed by ``(series_id, ts)`` so a
re-written sample is a no-op. ``rollups`` keeps one row per series and 5-minute bucket
(min/max/avg/count/last) for long-range reads after raw samples have expired.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Double, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from itsm_core.db import Base
from itsm_core.timeutil import utcnow

# Width of a roll-up bucket; the API and analytics name this resolution "5m".
ROLLUP_SECONDS = 300


class Series(Base):
    """One metric + label set (+ CI reference); ``labels_hash`` is its identity.

    ``labels_hash`` is a hash of the labels *and* the collector's CI reference
    (``ci_source``/``ci_external_id``), so two devices reporting the same metric and
    labels stay apart. ``ci_id`` is bound when that CI exists in the CMDB.
    """

    __tablename__ = "series"
    # The hash leads: writers look series up by hash alone (it covers the metric too).
    __table_args__ = (UniqueConstraint("labels_hash", "metric"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    metric: Mapped[str] = mapped_column(String(200), index=True)
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    labels_hash: Mapped[str] = mapped_column(String(64))
    ci_source: Mapped[str | None] = mapped_column(String(40))
    ci_external_id: Mapped[str | None] = mapped_column(String(200))
    ci_id: Mapped[int | None] = mapped_column(ForeignKey("cis.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sample_at: Mapped[datetime | None] = mapped_column()


class StoredSample(Base):
    """One raw value of one series at one time (kept ``raw_retention_days``)."""

    __tablename__ = "samples"
    __table_args__ = (
        # Roll-ups and retention select a time window over all series.
        Index("ix_samples_ts", "ts"),
        # On SQLite the primary key *is* the table (no hidden rowid): half the size.
        {"sqlite_with_rowid": False},
    )

    series_id: Mapped[int] = mapped_column(
        ForeignKey("series.id", ondelete="CASCADE"), primary_key=True
    )
    ts: Mapped[datetime] = mapped_column(primary_key=True)
    value: Mapped[float] = mapped_column(Double)


class Rollup(Base):
    """One series' samples in one 5-minute bucket ``[bucket_start, +5 min)``."""

    __tablename__ = "rollups"
    __table_args__ = (
        Index("ix_rollups_bucket_start", "bucket_start"),
        {"sqlite_with_rowid": False},
    )

    series_id: Mapped[int] = mapped_column(
        ForeignKey("series.id", ondelete="CASCADE"), primary_key=True
    )
    bucket_start: Mapped[datetime] = mapped_column(primary_key=True)
    min: Mapped[float] = mapped_column(Double)
    max: Mapped[float] = mapped_column(Double)
    avg: Mapped[float] = mapped_column(Double)
    count: Mapped[int] = mapped_column()
    # The value of the bucket's latest sample (a gauge's state at the bucket's end).
    last: Mapped[float] = mapped_column(Double)
