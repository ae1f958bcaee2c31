"""Roll raw samples into 5-minute buckets and expire old data — one idempotent job.

Run it every few minutes (``[metrics]`` settings). Each run:

1. recomputes the roll-ups of every closed 5-minute bucket from ``rollup_lookback_minutes``
   before the newest rolled bucket up to ``now`` (the first run starts at the oldest
   sample), so late samples are folded in and re-running changes nothing;
2. deletes raw samples older than ``raw_retention_days`` (after they were rolled up);
3. deletes roll-ups older than ``rollup_retention_days`` and series nobody wrote to for
   that long.

The aggregation runs in the database (``INSERT … SELECT … GROUP BY … ON CONFLICT DO
UPDATE``), never row by row in Python. Samples older than the look-back window that
arrive later (a back-fill) are rolled only if ``rollup_lookback_minutes`` covers them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, delete, func, select, text
from sqlalchemy.orm import Session

from collectors.settings import MetricStoreSettings
from collectors.store.models import ROLLUP_SECONDS
from collectors.store.tables import ROLLUPS, SAMPLES, SERIES, rowcount
from itsm_core.settings import Settings
from itsm_core.timeutil import UTCDateTime, as_utc

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# The start of a sample's bucket, in the column's own storage format: SQLite keeps
# UTCDateTime as 'YYYY-MM-DD HH:MM:SS.ffffff' text, PostgreSQL as timestamptz.
_BUCKET_SQL = {
    "sqlite": (
        "datetime(CAST(strftime('%s', s.ts) AS INTEGER) / {w} * {w}, 'unixepoch') || '.000000'"
    ),
    "postgresql": "to_timestamp(floor(extract(epoch FROM s.ts) / {w}) * {w})",
}

_ROLLUP_SQL = """
INSERT INTO rollups (series_id, bucket_start, min, max, avg, count, last)
SELECT agg.series_id, agg.bucket_start, agg.lo, agg.hi, agg.mean, agg.n, latest.value
FROM (
    SELECT s.series_id AS series_id, {bucket} AS bucket_start, min(s.value) AS lo,
           max(s.value) AS hi, avg(s.value) AS mean, count(*) AS n, max(s.ts) AS last_ts
    FROM samples AS s
    WHERE s.ts >= :start AND s.ts < :end
    GROUP BY s.series_id, {bucket}
) AS agg
JOIN samples AS latest ON latest.series_id = agg.series_id AND latest.ts = agg.last_ts
WHERE 1 = 1
ON CONFLICT (series_id, bucket_start) DO UPDATE SET
    min = excluded.min, max = excluded.max, avg = excluded.avg,
    count = excluded.count, last = excluded.last
"""


@dataclass(frozen=True, slots=True)
class RetentionRun:
    """What one run did."""

    rolled_from: datetime | None
    rolled_until: datetime | None
    buckets_written: int
    samples_deleted: int
    rollups_deleted: int
    series_deleted: int

    @property
    def total(self) -> int:
        return self.buckets_written + self.samples_deleted + self.rollups_deleted


def bucket_start(moment: datetime) -> datetime:
    """The start of the 5-minute bucket holding ``moment`` (UTC)."""
    seconds = (as_utc(moment) - _EPOCH) // timedelta(seconds=1)
    return _EPOCH + timedelta(seconds=seconds - seconds % ROLLUP_SECONDS)


def apply_retention(session: Session, settings: Settings, now: datetime) -> RetentionRun:
    """Roll up, then expire, as of ``now`` (see the module docstring). Idempotent."""
    config = settings.section(MetricStoreSettings)
    start, end = _rollup_window(session, config, now)
    buckets = 0
    if start is not None and start < end:
        buckets = roll_up(session, start, end)
    raw_cutoff = now - timedelta(days=config.raw_retention_days)
    rollup_cutoff = now - timedelta(days=config.rollup_retention_days)
    samples = rowcount(session.execute(delete(SAMPLES).where(SAMPLES.c.ts < raw_cutoff)))
    rollups = rowcount(
        session.execute(delete(ROLLUPS).where(ROLLUPS.c.bucket_start < rollup_cutoff))
    )
    quiet = func.coalesce(SERIES.c.last_sample_at, SERIES.c.created_at) < rollup_cutoff
    series = rowcount(session.execute(delete(SERIES).where(quiet)))
    session.flush()
    return RetentionRun(
        rolled_from=start if buckets else None,
        rolled_until=end if buckets else None,
        buckets_written=buckets,
        samples_deleted=samples,
        rollups_deleted=rollups,
        series_deleted=series,
    )


def roll_up(session: Session, start: datetime, end: datetime) -> int:
    """(Re)compute the roll-ups of the buckets in ``[start, end)`` (bucket-aligned)."""
    dialect = session.get_bind().dialect.name
    bucket = _BUCKET_SQL[dialect].format(w=ROLLUP_SECONDS)
    stmt = text(_ROLLUP_SQL.format(bucket=bucket)).bindparams(
        bindparam("start", type_=UTCDateTime()), bindparam("end", type_=UTCDateTime())
    )
    result = session.execute(stmt, {"start": bucket_start(start), "end": bucket_start(end)})
    return rowcount(result)


def _rollup_window(
    session: Session, config: MetricStoreSettings, now: datetime
) -> tuple[datetime | None, datetime]:
    end = bucket_start(now)  # only closed buckets
    newest = session.scalar(select(func.max(ROLLUPS.c.bucket_start)))
    if newest is not None:
        return newest - timedelta(minutes=config.rollup_lookback_minutes), end
    oldest = session.scalar(select(func.min(SAMPLES.c.ts)))
    return oldest, end
