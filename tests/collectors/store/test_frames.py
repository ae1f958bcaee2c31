"""read_frame / read_long / series_frame: the DataFrames analytics and notebooks get."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from collectors.samples import CIRef
from collectors.store.frames import read_frame, read_long, series_frame
from collectors.store.retention import roll_up
from tests.collectors.store.factories import T0, write
from tests.itsm_core.cmdb.factories import make_ci


def test_wide_frame_has_a_utc_index_and_one_column_per_series(session: Session) -> None:
    a = write(session, "if_in_bps", [(0, 1.0), (60, 2.0), (120, 3.0)], {"ifIndex": "1"})
    b = write(session, "if_in_bps", [(60, 20.0), (180, 40.0)], {"ifIndex": "2"})
    empty = write(session, "if_in_bps", [(9999, 1.0)], {"ifIndex": "3"})
    frame = read_frame(session, [a, b, empty], start=T0, end=T0 + timedelta(minutes=3))
    assert list(frame.columns) == [a, b, empty]
    assert frame.columns.name == "series_id"
    assert isinstance(frame.index, pd.DatetimeIndex)
    assert str(frame.index.tz) == "UTC"
    assert frame.index.name == "ts"
    assert list(frame.index) == [T0 + timedelta(seconds=s) for s in (0, 60, 120)]
    assert (frame.dtypes == "float64").all()
    assert frame[a].tolist() == [1.0, 2.0, 3.0]
    assert frame[b].tolist()[1] == 20.0
    assert np.isnan(frame[b].tolist()[0])
    # End is exclusive: the b point at 180 s is out; the empty series still has a column.
    assert frame[empty].isna().all()


def test_filter_by_metric_labels_and_ci(session: Session) -> None:
    with session.begin():
        core = make_ci(session, "network_device", "core", source="snmp", external_id="core")
    ref = CIRef("snmp", "core")
    a = write(session, "if_in_bps", [(0, 1.0)], {"ifIndex": "1", "dir": "in"}, ref)
    b = write(session, "if_in_bps", [(0, 2.0)], {"ifIndex": "2", "dir": "in"}, ref)
    write(session, "if_in_bps", [(0, 3.0)], {"ifIndex": "1", "dir": "in"})
    write(session, "cpu", [(0, 4.0)], {"ifIndex": "1"}, ref)
    window = {"start": T0, "end": T0 + timedelta(minutes=1)}
    assert list(read_frame(session, metric="if_in_bps", ci_id=core.id, **window).columns) == [a, b]
    by_label = read_frame(session, metric="if_in_bps", labels={"ifIndex": "2"}, **window)
    assert list(by_label.columns) == [b]
    assert by_label[b].tolist() == [2.0]
    assert read_frame(session, metric="nothing", **window).shape == (0, 0)


def test_five_minute_resolution_picks_a_stat(session: Session) -> None:
    a = write(session, "cpu", [(0, 1.0), (100, 3.0), (300, 5.0), (400, 9.0)])
    with session.begin():
        roll_up(session, T0, T0 + timedelta(minutes=10))
    window = {"start": T0, "end": T0 + timedelta(hours=1), "resolution": "5m"}
    avg = read_frame(session, [a], **window)
    assert list(avg.index) == [T0, T0 + timedelta(minutes=5)]
    assert avg[a].tolist() == [2.0, 7.0]
    assert read_frame(session, [a], stat="max", **window)[a].tolist() == [3.0, 9.0]
    assert read_frame(session, [a], stat="last", **window)[a].tolist() == [3.0, 9.0]
    long = read_long(session, [a], **window)
    assert list(long.columns) == ["series_id", "ts", "min", "max", "avg", "count", "last"]
    assert long["count"].tolist() == [2, 2]
    assert str(long["ts"].dt.tz) == "UTC"


def test_long_frame_and_series_metadata(session: Session) -> None:
    a = write(session, "cpu", [(0, 1.0), (60, 2.0)], {"host": "a"})
    b = write(session, "cpu", [(30, 3.0)], {"host": "b"}, CIRef("prometheus", "b"))
    long = read_long(session, metric="cpu", start=T0, end=T0 + timedelta(hours=1))
    assert list(long.columns) == ["series_id", "ts", "value"]
    assert list(zip(long["series_id"], long["value"], strict=True)) == [
        (a, 1.0),
        (a, 2.0),
        (b, 3.0),
    ]
    meta = series_frame(session, [b, a])
    assert list(meta.index) == [a, b]
    assert meta.loc[a, "labels"] == {"host": "a"}
    assert meta.loc[b, "ci_external_id"] == "b"
    assert pd.isna(meta.loc[a, "ci_id"])
    assert meta.loc[a, "last_sample_at"] == pd.Timestamp(T0 + timedelta(seconds=60))
