"""apply_retention: 5-minute roll-ups (correct, idempotent, late samples) and expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from collectors.settings import MetricStoreSettings
from collectors.store.models import Rollup, Series, StoredSample
from collectors.store.retention import apply_retention, bucket_start
from itsm_core.settings import Settings
from tests.collectors.store.factories import T0, write

MINUTE = 60.0
DAY = 86_400.0


def _rollups(session: Session) -> list[tuple[object, ...]]:
    rows = session.execute(
        select(
            Rollup.series_id,
            Rollup.bucket_start,
            Rollup.min,
            Rollup.max,
            Rollup.avg,
            Rollup.count,
            Rollup.last,
        ).order_by(Rollup.series_id, Rollup.bucket_start)
    ).all()
    session.rollback()
    return [tuple(r) for r in rows]


def _retain(session: Session, settings: Settings, now_seconds: float) -> None:
    with session.begin():
        apply_retention(session, settings, T0 + timedelta(seconds=now_seconds))


@pytest.fixture
def store_settings() -> Settings:
    return Settings({"metrics": {"raw_retention_days": 7, "rollup_retention_days": 90}})


def test_bucket_start_floors_to_five_minutes() -> None:
    assert bucket_start(T0 + timedelta(seconds=299.999)) == T0
    assert bucket_start(T0 + timedelta(seconds=300)) == T0 + timedelta(minutes=5)
    assert bucket_start(T0 - timedelta(microseconds=1)) == T0 - timedelta(minutes=5)


def test_closed_buckets_are_rolled_with_min_max_avg_count_last(
    session: Session, store_settings: Settings
) -> None:
    a = write(session, "cpu", [(0, 1.0), (60, 5.0), (120, 3.0), (299.5, 2.0), (300, 10.0)])
    b = write(session, "mem", [(30, 7.0), (610, 8.0)])
    # At 7 minutes only the first bucket is closed.
    _retain(session, store_settings, 7 * MINUTE)
    assert _rollups(session) == [
        (a, T0, 1.0, 5.0, 2.75, 4, 2.0),
        (b, T0, 7.0, 7.0, 7.0, 1, 7.0),
    ]
    # Later: the next buckets close; re-running changes nothing.
    _retain(session, store_settings, 16 * MINUTE)
    _retain(session, store_settings, 16 * MINUTE)
    five, ten = T0 + timedelta(minutes=5), T0 + timedelta(minutes=10)
    assert _rollups(session) == [
        (a, T0, 1.0, 5.0, 2.75, 4, 2.0),
        (a, five, 10.0, 10.0, 10.0, 1, 10.0),
        (b, T0, 7.0, 7.0, 7.0, 1, 7.0),
        (b, ten, 8.0, 8.0, 8.0, 1, 8.0),
    ]


def test_late_samples_within_the_lookback_are_folded_in(
    session: Session, store_settings: Settings
) -> None:
    a = write(session, "cpu", [(0, 1.0), (400, 1.0)])
    _retain(session, store_settings, 11 * MINUTE)
    assert _rollups(session)[0] == (a, T0, 1.0, 1.0, 1.0, 1, 1.0)
    write(session, "cpu", [(100, 9.0)])  # arrives late, into the first bucket
    _retain(session, store_settings, 12 * MINUTE)
    assert _rollups(session)[0] == (a, T0, 1.0, 9.0, 5.0, 2, 9.0)


def test_raw_expires_after_rollup_and_rollups_after_their_retention(
    session: Session, store_settings: Settings
) -> None:
    old = write(session, "cpu", [(0, 1.0), (60, 3.0)])
    recent = write(session, "cpu", [(8 * DAY, 4.0)], labels={"core": "1"})
    _retain(session, store_settings, 8 * DAY + 10 * MINUTE)
    # Day-0 samples are gone but their roll-up stays; the day-8 sample stays raw.
    raw = session.execute(select(StoredSample.series_id, StoredSample.ts)).all()
    session.rollback()
    assert [tuple(r) for r in raw] == [(recent, T0 + timedelta(days=8))]
    assert [(r[0], r[1], r[4]) for r in _rollups(session)] == [
        (old, T0, 2.0),
        (recent, T0 + timedelta(days=8), 4.0),
    ]
    # 91 days on: the old roll-up and the quiet series go; the recent series is 83 days quiet.
    _retain(session, store_settings, 91 * DAY)
    assert [(r[0], r[1]) for r in _rollups(session)] == [(recent, T0 + timedelta(days=8))]
    series = session.scalars(select(Series.id)).all()
    session.rollback()
    assert series == [recent]


def test_retention_is_configurable(session: Session) -> None:
    short = Settings({"metrics": {"raw_retention_days": 1, "rollup_retention_days": 2}})
    write(session, "cpu", [(0, 1.0), (1.5 * DAY, 2.0)])
    _retain(session, short, 1.6 * DAY)
    assert session.scalar(select(func.count()).select_from(StoredSample)) == 1
    session.rollback()
    assert len(_rollups(session)) == 2
    _retain(session, short, 2.5 * DAY)
    assert len(_rollups(session)) == 1


def test_rollup_retention_below_raw_is_refused() -> None:
    with pytest.raises(ValueError, match="rollup_retention_days"):
        Settings({"metrics": {"raw_retention_days": 7, "rollup_retention_days": 3}}).section(
            MetricStoreSettings
        )


def test_nothing_to_do_on_an_empty_store(session: Session, store_settings: Settings) -> None:
    with session.begin():
        run = apply_retention(session, store_settings, T0)
    assert run.total == 0
