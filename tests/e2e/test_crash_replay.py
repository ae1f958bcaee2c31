"""SIGKILL the server while deliveries replay the way Alertmanager does; nothing is lost.

Four senders post alert groups in flushes; each notification is retried on a 5xx or a
network error with jittered exponential back-off (Alertmanager's notifier), and every
flush re-sends each group whatever happened before. Meanwhile ``fulcrum serve`` is
killed with SIGKILL three times — mid-request, with no chance to clean up — and started
again on the same port and database. Afterwards:

- every alert acknowledged with a 2xx is stored, in the state last acknowledged (or a
  later state whose delivery was committed but whose answer the kill swallowed);
- each alert has exactly one occurrence (retries and repeats created nothing new);
- each CI has exactly one incident, and every firing alert belongs to its CI's incident.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from alerting.canonical import AlertSourceKind, AlertStatus
from alerting.intake_models import Alert, AlertOccurrence
from itsm_core.actor import SYSTEM
from itsm_core.cmdb import service as cmdb
from itsm_core.incidents.models import Incident
from itsm_core.people.roles import Role
from tests.peers.am_payloads import am_alert, fingerprint, notification
from tests.peers.am_sender import AlertmanagerLikeSender, Outcome
from tests.peers.fulcrum_server import create_token, running_fulcrum

pytestmark = pytest.mark.slow

CIS = 12
GROUPS = 24
ALERTS_PER_GROUP = 3
FLUSHES = 8
RESOLVE_FROM_FLUSH = 5  # from this flush on, the first alert of each group is resolved
SENDERS = 4
KILLS = 3
SEND_DEADLINE = 240.0  # seconds for the whole replay, a bound not an expectation


def _labels(group: int, index: int) -> dict[str, str]:
    return {
        "alertname": f"ProbeFailed{group % 3}",
        "ci": f"cpe-{group % CIS:02d}",
        "severity": "warning",
        "group": str(group),
        "probe": str(index),
    }


def _payload(group: int, flush: int, starts_at: datetime) -> tuple[dict[str, Any], dict[str, str]]:
    """The group's notification at ``flush`` and the status it gives each fingerprint."""
    alerts, statuses = [], {}
    for index in range(ALERTS_PER_GROUP):
        labels = _labels(group, index)
        resolved = index == 0 and flush >= RESOLVE_FROM_FLUSH
        alerts.append(
            am_alert(
                labels,
                status="resolved" if resolved else "firing",
                starts_at=starts_at,
                ends_at=starts_at + timedelta(minutes=5) if resolved else None,
            )
        )
        statuses[fingerprint(labels)] = "resolved" if resolved else "firing"
    group_labels = {"alertname": _labels(group, 0)["alertname"], "group": str(group)}
    return notification(alerts, group_labels=group_labels), statuses


class Ledger:
    """What the senders know: acknowledged and attempted states per fingerprint."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.acknowledged: dict[str, list[str]] = defaultdict(list)
        self.attempted: dict[str, list[str]] = defaultdict(list)
        self.refused: list[Outcome] = []
        self.acks = 0
        self.gave_up = 0
        self.retried = 0  # notifications that needed more than one attempt

    def record(self, statuses: dict[str, str], outcome: Outcome) -> None:
        with self._lock:
            for fp, status in statuses.items():
                self.attempted[fp].append(status)
                if outcome.acknowledged:
                    self.acknowledged[fp].append(status)
            self.retried += outcome.attempts > 1
            if outcome.acknowledged:
                self.acks += 1
            elif outcome.status is not None and 400 <= outcome.status < 500:
                self.refused.append(outcome)
            else:
                self.gave_up += 1


@pytest.fixture
def cmdb_cis(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions() as s, s.begin():
        made = [
            cmdb.create_ci(s, SYSTEM, {"class": "network_device", "name": f"cpe-{n:02d}"})
            for n in range(CIS)
        ]
        return {ci.name: ci.id for ci in made}


def test_sigkill_during_replay_loses_no_acknowledged_alert_and_duplicates_nothing(
    tmp_path: Path,
    database_url: str,
    engine: Engine,
    sessions: sessionmaker[Session],
    cmdb_cis: dict[str, int],
) -> None:
    token = create_token(database_url, "alertmanager", Role.ALERT_SOURCE.value)
    starts_at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    ledger = Ledger()
    kills_done = 0
    deadline = time.monotonic() + SEND_DEADLINE

    with running_fulcrum(
        tmp_path / "fulcrum", database_url, env={"FULCRUM_BACKGROUND_ENABLED": "false"}
    ) as server:
        url = f"{server.url}/api/v1/webhooks/alertmanager"
        senders_done = threading.Event()
        killer_failed: list[BaseException] = []

        def sender(worker: int) -> None:
            client = AlertmanagerLikeSender(url, token, budget=15.0, seed=worker)
            try:
                for flush in range(FLUSHES):
                    for group in range(worker, GROUPS, SENDERS):
                        if time.monotonic() > deadline:
                            return
                        payload, statuses = _payload(group, flush, starts_at)
                        ledger.record(statuses, client.deliver(payload))
                    time.sleep(0.1)  # the group interval between flushes
            finally:
                client.close()

        def killer() -> None:
            nonlocal kills_done
            step = (GROUPS * FLUSHES) // (KILLS + 1)
            try:
                for kill in range(1, KILLS + 1):
                    while ledger.acks < kill * step and not senders_done.is_set():
                        time.sleep(0.01)
                    if senders_done.is_set():
                        return
                    server.kill()
                    kills_done += 1
                    time.sleep(0.3)
                    server.start()  # same port, same database; waits until ready
            except BaseException as exc:  # surfaced in the test thread below
                killer_failed.append(exc)

        threads = [threading.Thread(target=sender, args=(w,)) for w in range(SENDERS)]
        chaos = threading.Thread(target=killer)
        for thread in [*threads, chaos]:
            thread.start()
        for thread in threads:
            thread.join(timeout=SEND_DEADLINE + 30)
        senders_done.set()
        chaos.join(timeout=90)
        assert not any(t.is_alive() for t in [*threads, chaos]), "a sender or the killer hung"
        assert killer_failed == [], f"restarting the server failed: {killer_failed}"

    print(  # shown with -s, and in the report of a failure
        f"kills {kills_done}, acknowledged notifications {ledger.acks}, retried "
        f"{ledger.retried}, gave up {ledger.gave_up}, refused {len(ledger.refused)}"
    )
    assert kills_done == KILLS, f"only {kills_done} kills happened"
    assert ledger.retried > 0, "no delivery ever met the dead server: the kills hit nothing"
    assert ledger.refused == [], f"4xx answers: {ledger.refused[:3]}"
    total = GROUPS * ALERTS_PER_GROUP
    assert len(ledger.acknowledged) == total, "some alert was never acknowledged at all"

    with sessions() as s:
        stored = {
            a.fingerprint: a
            for a in s.scalars(select(Alert).where(Alert.source == AlertSourceKind.ALERTMANAGER))
        }
        occurrences = dict(
            s.execute(
                select(AlertOccurrence.alert_id, func.count()).group_by(AlertOccurrence.alert_id)
            ).all()
        )
        incidents = s.scalars(select(Incident)).all()

    # Every acknowledged alert is there, in its last acknowledged state or a later one.
    for fp, acknowledged in ledger.acknowledged.items():
        alert = stored.get(fp)
        assert alert is not None, f"acknowledged alert {fp} is missing"
        if acknowledged[-1] == "resolved":
            assert alert.status == AlertStatus.RESOLVED, fp
        else:  # firing, unless a resolution went through but its answer was lost
            assert alert.status == AlertStatus.FIRING or "resolved" in ledger.attempted[fp], fp
    assert len(stored) == total

    # Retries and repeats created no new occurrence.
    assert {a.fingerprint: occurrences.get(a.id, 0) for a in stored.values()} == dict.fromkeys(
        stored, 1
    )

    # One incident per CI, and every alert of a CI in that one.
    per_ci: dict[int | None, list[int]] = defaultdict(list)
    for incident in incidents:
        per_ci[incident.primary_ci_id].append(incident.id)
    assert {ci: len(ids) for ci, ids in per_ci.items()} == dict.fromkeys(cmdb_cis.values(), 1)
    for alert in stored.values():
        assert alert.ci_id == cmdb_cis[alert.labels["ci"]]
        assert alert.incident_id == per_ci[alert.ci_id][0]
