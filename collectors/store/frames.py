"""The metric store as pandas DataFrames, for analytics and notebooks.

Wide is the default because that is what vectorised analysis wants — one column per
series, one row per timestamp::

    from collectors.store.frames import read_frame, series_frame

    cpu = read_frame(session, metric="hr_processor_load", start=t0, end=t1, resolution="5m")
    cpu.columns            # Index([12, 13, …], name="series_id") — series ids
    cpu.index              # DatetimeIndex(…, tz="UTC", name="ts")
    series_frame(session, cpu.columns)   # metric, labels, ci_id … per series id

- ``read_frame`` — wide: index ``ts`` (UTC ``DatetimeIndex``, sorted), columns the series
  ids (``int``, named ``series_id``), ``float64`` values; ``NaN`` where a series has no
  point at that time (raw series are rarely aligned: ``.resample("5min").mean()``).
  Every selected series gets a column, even one without points in the range. At
  ``resolution="5m"`` the index holds bucket starts and ``stat`` picks the figure
  (``avg`` by default; ``min``/``max``/``count``/``last``).
- ``read_long`` — tidy: columns ``series_id``, ``ts``, ``value`` (raw) or ``series_id``,
  ``ts``, ``min``, ``max``, ``avg``, ``count``, ``last`` (5m), sorted by series then time.
- ``series_frame`` — one row per series id: ``metric``, ``labels`` (dict), ``ci_id``,
  ``ci_source``, ``ci_external_id``, ``created_at``, ``last_sample_at``.

Series are chosen by id (``series=[…]``) or by filter (``metric=``, ``labels={…}``,
``ci_id=``); ranges are half-open ``[start, end)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, String, select, type_coerce
from sqlalchemy.orm import Session

from collectors.choices import Resolution, RollupStat
from collectors.store.filters import SeriesFilter
from collectors.store.models import Series
from collectors.store.tables import ROLLUPS, SAMPLES, SERIES, one_of
from itsm_core.timeutil import as_utc

_ROLLUP_FIELDS = ["min", "max", "avg", "count", "last"]
_CHUNK = 1000
# How SQLAlchemy stores a UTCDateTime on SQLite (parsed here in one vectorised call).
_SQLITE_TS_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def select_series_ids(
    session: Session,
    series: Iterable[int] | None = None,
    *,
    metric: str | None = None,
    labels: Mapping[str, str] | None = None,
    ci_id: int | None = None,
) -> list[int]:
    """Ids of the series named or matching the filter, ascending."""
    stmt = SeriesFilter(metric, dict(labels or {}), ci_id).apply(select(Series.id))
    if series is None:
        return list(session.scalars(stmt.order_by(Series.id)))
    wanted = sorted({int(i) for i in series})
    found: list[int] = []
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        chosen = stmt.where(one_of(session, Series.id, chunk)).order_by(Series.id)
        found.extend(session.scalars(chosen))
    return found


def read_long(
    session: Session,
    series: Iterable[int] | None = None,
    *,
    start: datetime,
    end: datetime,
    resolution: Resolution | str = Resolution.RAW,
    metric: str | None = None,
    labels: Mapping[str, str] | None = None,
    ci_id: int | None = None,
) -> pd.DataFrame:
    """The selected series' points in ``[start, end)``, one row per point (tidy)."""
    ids = select_series_ids(session, series, metric=metric, labels=labels, ci_id=ci_id)
    return _long(session, ids, as_utc(start), as_utc(end), Resolution(resolution))


def read_frame(
    session: Session,
    series: Iterable[int] | None = None,
    *,
    start: datetime,
    end: datetime,
    resolution: Resolution | str = Resolution.RAW,
    stat: RollupStat | str = RollupStat.AVG,
    metric: str | None = None,
    labels: Mapping[str, str] | None = None,
    ci_id: int | None = None,
) -> pd.DataFrame:
    """The selected series in ``[start, end)`` as one wide frame (see the module docstring)."""
    ids = select_series_ids(session, series, metric=metric, labels=labels, ci_id=ci_id)
    resolution = Resolution(resolution)
    long = _long(session, ids, as_utc(start), as_utc(end), resolution)
    column = "value" if resolution is Resolution.RAW else RollupStat(stat).value
    if long.empty:
        wide = pd.DataFrame(index=pd.DatetimeIndex([], tz="UTC"), columns=ids, dtype="float64")
    else:
        wide = long.pivot(index="ts", columns="series_id", values=column).reindex(columns=ids)
    wide = wide.astype("float64").sort_index()
    wide.index.name = "ts"
    wide.columns = pd.Index(ids, dtype="int64", name="series_id")
    return wide


def series_frame(session: Session, series: Iterable[int]) -> pd.DataFrame:
    """What each series is: metric, labels, CI binding, first and last write."""
    ids = sorted({int(i) for i in series})
    columns = ["metric", "labels", "ci_id", "ci_source", "ci_external_id"]
    columns += ["created_at", "last_sample_at"]
    rows: list[Sequence[Any]] = []
    for start in range(0, len(ids), _CHUNK):
        stmt = select(SERIES.c.id, *(SERIES.c[name] for name in columns)).where(
            one_of(session, SERIES.c.id, ids[start : start + _CHUNK])
        )
        rows.extend(session.execute(stmt).all())
    frame = pd.DataFrame([list(r) for r in rows], columns=["series_id", *columns])
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    frame["last_sample_at"] = pd.to_datetime(frame["last_sample_at"], utc=True)
    frame["ci_id"] = frame["ci_id"].astype("Int64")
    return frame.set_index("series_id").sort_index()


def _long(
    session: Session, ids: list[int], start: datetime, end: datetime, resolution: Resolution
) -> pd.DataFrame:
    if resolution is Resolution.RAW:
        table, time_column, fields = SAMPLES, SAMPLES.c.ts, ["value"]
    else:
        table, time_column, fields = ROLLUPS, ROLLUPS.c.bucket_start, _ROLLUP_FIELDS
    sqlite = session.get_bind().dialect.name == "sqlite"
    # On SQLite read the stored text and parse it in one pandas call, not per row.
    ts: ColumnElement[Any] = type_coerce(time_column, String) if sqlite else time_column
    rows: list[Sequence[Any]] = []
    for first in range(0, len(ids), _CHUNK):
        stmt = (
            select(table.c.series_id, ts.label("ts"), *(table.c[f] for f in fields))
            .where(one_of(session, table.c.series_id, ids[first : first + _CHUNK]))
            .where(time_column >= start, time_column < end)
            .order_by(table.c.series_id, time_column)
        )
        rows.extend(session.execute(stmt).all())
    frame = pd.DataFrame([list(r) for r in rows], columns=["series_id", "ts", *fields])
    if sqlite:
        frame["ts"] = pd.to_datetime(frame["ts"], format=_SQLITE_TS_FORMAT, utc=True)
    else:
        frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    frame["series_id"] = frame["series_id"].astype("int64")
    for name in fields:
        frame[name] = frame[name].astype("int64" if name == "count" else "float64")
    return frame
