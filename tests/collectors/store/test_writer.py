"""write_samples: series resolution, idempotent bulk insert, CI binding."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from collectors.samples import CIRef, Sample
from collectors.store.models import Series, StoredSample
from collectors.store.writer import write_samples
from tests.itsm_core.cmdb.factories import make_ci

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(StoredSample)) or 0


def test_one_series_per_metric_labels_and_ci(session: Session) -> None:
    router = CIRef("snmp", "router-1")
    samples = [
        Sample("if_in_bps", 10.0, T0, {"ifIndex": "1"}, router),
        Sample("if_in_bps", 11.0, T0 + timedelta(minutes=1), {"ifIndex": "1"}, router),
        # Same labels, other device: another series.
        Sample("if_in_bps", 12.0, T0, {"ifIndex": "1"}, CIRef("snmp", "router-2")),
        # Same device, other interface; label order does not matter.
        Sample("if_in_bps", 13.0, T0, {"ifIndex": "2", "dir": "in"}, router),
        Sample("if_in_bps", 14.0, T0 + timedelta(minutes=1), {"dir": "in", "ifIndex": "2"}, router),
        Sample("if_out_bps", 15.0, T0, {"ifIndex": "1"}, router),
    ]
    with session.begin():
        assert write_samples(session, samples) == 6
    series = session.scalars(select(Series).order_by(Series.id)).all()
    assert [(s.metric, s.labels, s.ci_external_id) for s in series] == [
        ("if_in_bps", {"ifIndex": "1"}, "router-1"),
        ("if_in_bps", {"ifIndex": "1"}, "router-2"),
        ("if_in_bps", {"dir": "in", "ifIndex": "2"}, "router-1"),
        ("if_out_bps", {"ifIndex": "1"}, "router-1"),
    ]
    assert series[0].last_sample_at == T0 + timedelta(minutes=1)
    assert series[1].last_sample_at == T0


def test_rewriting_samples_is_idempotent(session: Session) -> None:
    batch = [Sample("cpu", float(i), T0 + timedelta(minutes=i), {"host": "a"}) for i in range(50)]
    with session.begin():
        assert write_samples(session, batch) == 50
    with session.begin():
        # Same points again (one with another value), plus ten new ones.
        again = [*batch[:-1], Sample("cpu", 999.0, batch[-1].ts, {"host": "a"})]
        more = [
            Sample("cpu", 1.0, T0 + timedelta(hours=2, minutes=i), {"host": "a"}) for i in range(10)
        ]
        assert write_samples(session, again + more) == 10
    assert _count(session) == 60
    assert session.scalar(select(func.count()).select_from(Series)) == 1
    # The first write wins.
    last = session.scalar(select(StoredSample.value).where(StoredSample.ts == batch[-1].ts))
    assert last == 49.0


def test_duplicates_within_one_batch_and_other_time_zones(session: Session) -> None:
    plus_five = T0.astimezone(timezone(timedelta(hours=5)))
    shanghai = T0.astimezone(ZoneInfo("Asia/Shanghai"))
    batch = [Sample("m", 1.0, T0), Sample("m", 2.0, shanghai), Sample("m", 3.0, plus_five)]
    with session.begin():
        assert write_samples(session, batch) == 1
    stored = session.execute(select(StoredSample.ts, StoredSample.value)).all()
    assert len(stored) == 1
    assert stored[0].ts == T0


def test_unstorable_samples_are_skipped_not_fatal(session: Session) -> None:
    batch = [
        Sample("m", math.nan, T0),
        Sample("m", math.inf, T0 + timedelta(seconds=1)),
        Sample("m", 1.0, datetime(2026, 1, 5, 10, 0)),  # naive
        Sample("x" * 201, 1.0, T0),
        Sample("", 1.0, T0),
        Sample("m", 2.0, T0 + timedelta(seconds=2)),
    ]
    with session.begin():
        assert write_samples(session, batch) == 1
    assert _count(session) == 1


def test_ci_reference_binds_to_the_cmdb_ci(session: Session) -> None:
    with session.begin():
        device = make_ci(session, "network_device", "core-1", source="snmp", external_id="dev-1")
        named = make_ci(session, "vm", "his-db-01")
        make_ci(session, "vm", "twin")
        make_ci(session, "application", "twin")
    with session.begin():
        write_samples(
            session,
            [
                Sample("up", 1.0, T0, {}, CIRef("snmp", "dev-1")),
                Sample("up", 1.0, T0, {}, CIRef("snmp", "dev-unknown")),
                Sample("load", 1.0, T0, {}, CIRef("name", "his-db-01")),
                Sample("load", 1.0, T0, {}, CIRef("name", "twin")),  # ambiguous name
                Sample("load", 1.0, T0, {}),
            ],
        )
    bound = {(s.metric, s.ci_external_id): s.ci_id for s in session.scalars(select(Series))}
    assert bound == {
        ("up", "dev-1"): device.id,
        ("up", "dev-unknown"): None,
        ("load", "his-db-01"): named.id,
        ("load", "twin"): None,
        ("load", None): None,
    }


def test_series_written_before_its_ci_exists_is_bound_later(session: Session) -> None:
    ref = CIRef("proxmox", "pve/qemu/101")
    with session.begin():
        write_samples(session, [Sample("vm_cpu", 0.5, T0, {"vmid": "101"}, ref)])
    assert session.scalar(select(Series.ci_id)) is None
    session.rollback()  # end the read so the next block can begin
    with session.begin():
        vm = make_ci(session, "vm", "vm-101", source="proxmox", external_id="pve/qemu/101")
        write_samples(
            session, [Sample("vm_cpu", 0.6, T0 + timedelta(minutes=1), {"vmid": "101"}, ref)]
        )
    session.expire_all()
    assert session.scalar(select(Series.ci_id)) == vm.id
    assert _count(session) == 2


def test_bulk_write_of_many_series_is_set_based(session: Session) -> None:
    # 2,000 series x 5 points in one call, then the same again: nothing new.
    batch = [
        Sample(
            "if_in_bps",
            float(i * p),
            T0 + timedelta(minutes=p),
            {"ifIndex": str(i)},
            CIRef("snmp", f"d{i % 40}"),
        )
        for i in range(2000)
        for p in range(5)
    ]
    with session.begin():
        assert write_samples(session, batch) == 10_000
    with session.begin():
        assert write_samples(session, reversed(batch)) == 0
    assert _count(session) == 10_000
    assert session.scalar(select(func.count()).select_from(Series)) == 2000


def test_empty_batch(session: Session) -> None:
    with session.begin():
        assert write_samples(session, []) == 0
