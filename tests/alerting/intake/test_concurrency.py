"""Concurrent deliveries (Alertmanager retries, HA pairs, bursts) duplicate nothing.

Each thread is its own transaction on its own connection, started together: on
PostgreSQL they really overlap (row locks, ON CONFLICT, advisory locks per CI); on SQLite
the single writer queues them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerting.canonical import AlertSourceKind, CanonicalAlert
from alerting.intake import IngestResult, receive
from alerting.intake_models import Alert, WebhookDelivery
from itsm_core.incidents.models import Incident
from itsm_core.settings import Settings
from tests.alerting.intake.helpers import T0, alert, build_estate, count

T = TypeVar("T")
THREADS = 6


def _together(calls: list[Callable[[], T]]) -> list[T]:
    barrier = threading.Barrier(len(calls), timeout=30)

    def start(call: Callable[[], T]) -> T:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        futures = [pool.submit(start, call) for call in calls]
        return [f.result(timeout=60) for f in futures]


def _deliver(
    sessions: sessionmaker[Session],
    settings: Settings,
    digest: str,
    alerts: Sequence[CanonicalAlert],
) -> Callable[[], IngestResult]:
    def call() -> IngestResult:
        with sessions() as s, s.begin():
            return receive(
                s,
                AlertSourceKind.ALERTMANAGER,
                digest,
                alerts,
                received_by="test",
                settings=settings,
                now=T0,
            )

    return call


def test_the_same_delivery_at_once_is_stored_once(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    build_estate(sessions)
    alerts = [alert(f"cpe-{i}", instance=f"10.20.1.{i}:161") for i in (1, 2, 3)]
    results = _together([_deliver(sessions, settings, "same", alerts) for _ in range(THREADS)])
    assert sorted(r.duplicate_delivery for r in results) == [False] + [True] * (THREADS - 1)
    with sessions() as s:
        assert count(s, WebhookDelivery) == 1
        assert count(s, Alert) == 3
        assert count(s, Incident) == 3


def test_ha_twins_with_the_same_alerts_make_one_alert_and_one_incident(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    build_estate(sessions)
    alerts = [alert("pacs", instance="pacs-01:9100")]
    calls = [_deliver(sessions, settings, f"twin-{i}", alerts) for i in range(THREADS)]
    results = _together(calls)
    assert sum(r.new for r in results) == 1
    assert sum(r.repeats for r in results) == THREADS - 1
    with sessions() as s:
        assert count(s, Alert) == 1
        assert count(s, Incident) == 1


def test_different_alerts_on_one_ci_at_once_open_one_incident(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    build_estate(sessions)
    calls = [
        _deliver(sessions, settings, f"d-{i}", [alert(f"pacs-{i}", instance="pacs-01:9100")])
        for i in range(THREADS)
    ]
    results = _together(calls)
    assert sum(len(r.incidents_opened) for r in results) == 1
    with sessions() as s:
        (incident_id,) = set(s.scalars(select(Alert.incident_id)))
        assert incident_id is not None
        assert count(s, Incident) == 1
