"""Bulk, idempotent writes of canonical samples into the metric store.

``write_samples`` is set-based whatever the batch size: one query finds the batch's
existing series by hash, one ``INSERT … ON CONFLICT DO NOTHING`` adds the missing ones,
one query binds CI references to CI ids, and the samples go in as one ``executemany``
``INSERT … ON CONFLICT DO NOTHING`` per chunk — so writing the same sample twice stores
it once. Samples that cannot be stored (no time zone, a non-finite value, an over-long
name) are skipped and counted in the log, never allowed to fail the whole batch.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, or_, select, text, update
from sqlalchemy.orm import Session

from collectors.samples import Sample
from collectors.store.binding import resolve_ci_ids
from collectors.store.keys import SeriesKey
from collectors.store.tables import SAMPLES, SERIES, dialect_insert, one_of
from itsm_core.timeutil import utcnow

log = logging.getLogger("fulcrum.collectors.store")

# Rows per executemany; hashes per IN list (well under the bound-parameter limits).
_SAMPLE_CHUNK = 5000
_HASH_CHUNK = 1000

# ``series.last_sample_at`` is kept to within this (see _touch_series).
LAST_SAMPLE_SLACK = timedelta(minutes=10)

_MAX_METRIC = 200
_MAX_CI_SOURCE = 40
_MAX_CI_ID = 200


def write_samples(session: Session, samples: Iterable[Sample]) -> int:
    """Store ``samples`` (creating their series); return how many were not stored before.

    Idempotent: a sample whose series and timestamp are already stored is ignored, also
    when the value differs (the first write wins). The caller owns the transaction.
    """
    points: dict[SeriesKey, dict[datetime, float]] = {}
    skipped = 0
    for sample in samples:
        key = _key_of(sample)
        if key is None:
            skipped += 1
            continue
        points.setdefault(key, {})[sample.ts] = float(sample.value)
    if skipped:
        log.warning("metric store skipped %d sample(s) it cannot store", skipped)
    if not points:
        return 0
    ids = resolve_series(session, points.keys())
    rows = sorted(
        (ids[key], ts, value) for key, by_ts in points.items() for ts, value in by_ts.items()
    )
    inserted = _insert_samples(session, rows)
    _touch_series(session, {ids[key]: max(by_ts) for key, by_ts in points.items()})
    return inserted


def resolve_series(session: Session, keys: Collection[SeriesKey]) -> dict[SeriesKey, int]:
    """The id of every key's series, creating missing ones and (re)binding their CIs."""
    by_hash = {key.labels_hash(): key for key in keys}
    ci_ids = resolve_ci_ids(session, {key.ci for key in keys if key.ci is not None})
    known = _existing(session, by_hash)
    missing = [h for h in by_hash if h not in known]
    if missing:
        now = utcnow()
        session.execute(
            dialect_insert(session, SERIES).on_conflict_do_nothing(
                index_elements=["labels_hash", "metric"]
            ),
            [_new_series(by_hash[h], h, ci_ids, now) for h in missing],
        )
        known.update(_existing(session, missing))
    rebind = []
    for labels_hash, (series_id, bound) in known.items():
        ci = by_hash[labels_hash].ci
        wanted = None if ci is None else ci_ids.get(ci)
        if wanted is not None and wanted != bound:
            rebind.append({"b_id": series_id, "b_ci_id": wanted})
    if rebind:
        # A CI discovered after its first samples: bind the series now.
        stmt = (
            update(SERIES)
            .where(SERIES.c.id == bindparam("b_id"))
            .values(ci_id=bindparam("b_ci_id"))
        )
        session.execute(stmt, sorted(rebind, key=lambda row: row["b_id"]))
    return {by_hash[h]: series_id for h, (series_id, _) in known.items()}


def _key_of(sample: Sample) -> SeriesKey | None:
    if not sample.metric or len(sample.metric) > _MAX_METRIC:
        return None
    if sample.ts.tzinfo is None or sample.ts.utcoffset() is None:
        return None
    if not isinstance(sample.value, int | float) or not math.isfinite(sample.value):
        return None
    ci = sample.ci
    if ci is not None and (len(ci.source) > _MAX_CI_SOURCE or len(ci.external_id) > _MAX_CI_ID):
        return None
    return SeriesKey.of(sample.metric, sample.labels, ci)


def _existing(session: Session, hashes: Iterable[str]) -> dict[str, tuple[int, int | None]]:
    wanted = list(hashes)
    found: dict[str, tuple[int, int | None]] = {}
    for start in range(0, len(wanted), _HASH_CHUNK):
        rows = session.execute(
            select(SERIES.c.labels_hash, SERIES.c.id, SERIES.c.ci_id).where(
                one_of(session, SERIES.c.labels_hash, wanted[start : start + _HASH_CHUNK])
            )
        )
        for labels_hash, series_id, ci_id in rows:
            found[labels_hash] = (series_id, ci_id)
    return found


def _new_series(
    key: SeriesKey, labels_hash: str, ci_ids: dict[Any, int], now: datetime
) -> dict[str, Any]:
    return {
        "metric": key.metric,
        "labels": key.labels_dict(),
        "labels_hash": labels_hash,
        "ci_source": None if key.ci is None else key.ci.source,
        "ci_external_id": None if key.ci is None else key.ci.external_id,
        "ci_id": None if key.ci is None else ci_ids.get(key.ci),
        "created_at": now,
        "last_sample_at": None,
    }


def _insert_samples(session: Session, rows: list[tuple[int, datetime, float]]) -> int:
    # RETURNING lists only the rows the conflict clause let in: the one count of new
    # rows both databases give for a batched insert (rowcount is -1 on PostgreSQL).
    stmt = (
        dialect_insert(session, SAMPLES)
        .on_conflict_do_nothing(index_elements=["series_id", "ts"])
        .returning(SAMPLES.c.series_id)
    )
    inserted = 0
    for start in range(0, len(rows), _SAMPLE_CHUNK):
        chunk = rows[start : start + _SAMPLE_CHUNK]
        result = session.execute(
            stmt, [{"series_id": s, "ts": ts, "value": v} for s, ts, v in chunk]
        )
        inserted += len(result.all())
    return inserted


def _touch_series(session: Session, latest: dict[int, datetime]) -> None:
    """Move ``last_sample_at`` forward — only when it lags by ``LAST_SAMPLE_SLACK``.

    Every series is written every poll; rewriting its row each time would be most of the
    store's write load (and table bloat on PostgreSQL) for a figure that retention and
    people read at a coarser grain.
    """
    slack = LAST_SAMPLE_SLACK
    rows = [(i, ts) for i, ts in sorted(latest.items())]
    if session.get_bind().dialect.name == "postgresql":
        # One statement for the whole batch (an executemany is one round trip per row).
        session.execute(
            text(
                "UPDATE series AS s SET last_sample_at = u.ts"
                " FROM unnest(CAST(:ids AS integer[]), CAST(:tss AS timestamptz[])) AS u(id, ts)"
                " WHERE s.id = u.id"
                " AND (s.last_sample_at IS NULL OR s.last_sample_at < u.ts - :slack)"
            ),
            {"ids": [i for i, _ in rows], "tss": [ts for _, ts in rows], "slack": slack},
        )
        return
    last = SERIES.c.last_sample_at
    stmt = (
        update(SERIES)
        .where(SERIES.c.id == bindparam("b_id"))
        .where(or_(last.is_(None), last < bindparam("b_due")))
        .values(last_sample_at=bindparam("b_ts"))
    )
    session.execute(stmt, [{"b_id": i, "b_ts": ts, "b_due": ts - slack} for i, ts in rows])
