"""The scheduler against a real (tiny) collector and peer on loopback, with a manual clock.

Timing is asserted on the injected clock only (due times, back-off), never on the wall
clock. Health alerts go through the real alert pipeline (``alerting.intake.PipelineSink``).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from alerting.canonical import AlertSink, AlertSourceKind, AlertStatus, CanonicalAlert
from alerting.intake import PipelineSink
from alerting.intake_models import Alert
from collectors.health import fingerprint
from collectors.pollers import Poller
from collectors.result import PollResult
from collectors.scheduler import Round, Scheduler
from collectors.store.models import Series, StoredSample
from collectors.target_state import TargetState
from collectors.targets import Target
from itsm_core.cmdb.models import ConfigurationItem
from itsm_core.settings import Settings
from itsm_core.timeutil import utcnow
from tests.collectors.thermometer import (
    KIND,
    ThermometerPoller,
    dead_url,
    running_thermometer,
)

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


class ManualClock:
    """The scheduler's clock, moved by the test."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def to(self, moment: datetime | None) -> None:
        assert moment is not None
        self.now = moment


def make_scheduler(
    sessions: sessionmaker[Session],
    clock: Callable[[], datetime],
    targets: Sequence[Target],
    *,
    token: str = "s3cret-token",
    sink: AlertSink | None = None,
    pollers: dict[str, Poller] | None = None,
    **collectors: Any,
) -> Scheduler:
    config = {"jitter_share": 0, "backoff_base_seconds": 30, "backoff_max_seconds": 100}
    settings = Settings({"collectors": {**config, **collectors}})
    return Scheduler(
        sessions,
        settings,
        pollers=pollers if pollers is not None else {KIND: ThermometerPoller(token, clock)},
        sink=sink if sink is not None else PipelineSink(settings),
        targets=lambda _session: list(targets),
        clock=clock,
        rng=random.Random(7),
    )


def thermometer(url: str, interval: float = 60, **fields: Any) -> Target:
    return Target(KIND, url, interval_seconds=interval, **fields)


def _scalar(sessions: sessionmaker[Session], stmt: Any) -> Any:
    with sessions() as session:
        return session.scalar(stmt)


def _alerts(sessions: sessionmaker[Session]) -> list[tuple[str, str, AlertStatus]]:
    with sessions() as session:
        rows = session.execute(
            select(Alert.name, Alert.fingerprint, Alert.status)
            .where(Alert.source == AlertSourceKind.COLLECTOR)
            .order_by(Alert.id)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_targets_are_polled_on_their_interval_and_samples_stored(
    sessions: sessionmaker[Session],
) -> None:
    clock = ManualClock(T0)
    with running_thermometer() as thermo:
        target = thermometer(thermo.url, 60, name="ward-3")
        scheduler = make_scheduler(sessions, clock, [target])

        async def scenario() -> list[Round]:
            rounds = [await scheduler.run_once()]
            clock.advance(59.9)
            rounds.append(await scheduler.run_once())  # not due yet
            clock.advance(0.1)
            thermo.celsius = 22.0
            rounds.append(await scheduler.run_once())
            return rounds

        first, early, due = asyncio.run(scenario())
    assert [(o.error, o.written) for o in first.outcomes] == [(None, 1)]
    assert first.outcomes[0].next_due == T0 + timedelta(seconds=60)
    assert early.outcomes == []
    assert [o.started_at for o in due.outcomes] == [T0 + timedelta(seconds=60)]
    assert thermo.requests == 2
    with sessions() as session:
        values = session.scalars(select(StoredSample.value).order_by(StoredSample.ts)).all()
        series = session.scalars(select(Series)).one()
        ci = session.scalars(select(ConfigurationItem)).one()
    assert values == [21.5, 22.0]
    # Discovery ran before the samples were written, so the series is bound at once.
    assert ci.name == "thermometer ward-3"
    assert series.ci_id == ci.id


def test_jitter_spreads_polls_within_the_share(sessions: sessionmaker[Session]) -> None:
    clock = ManualClock(T0)
    with running_thermometer() as thermo:
        targets = [thermometer(thermo.url + f"/t{i}", 100) for i in range(8)]
        scheduler = make_scheduler(sessions, clock, targets, jitter_share=0.1)

        async def scenario() -> tuple[Round, list[datetime]]:
            await scheduler.refresh(spread=True)
            spread = [scheduler.due_at(t.key) for t in targets]
            clock.advance(100)
            return await scheduler.run_once(), spread

        polled, spread = asyncio.run(scenario())
    # New targets of a running scheduler start somewhere in their first interval...
    assert all(T0 <= due < T0 + timedelta(seconds=100) for due in spread)
    assert len(set(spread)) == len(spread)
    # ...and each next poll is due at interval ± 10 %, not all at the same instant.
    delays = [(o.next_due - o.started_at).total_seconds() for o in polled.outcomes if o.next_due]
    assert len(delays) == 8
    assert all(90 <= d <= 110 for d in delays)
    assert len(set(delays)) == 8


def test_failures_back_off_exponentially_raise_one_alert_and_resolve_on_recovery(
    sessions: sessionmaker[Session],
) -> None:
    clock = ManualClock(T0)
    with running_thermometer() as thermo:
        thermo.secret = "rotated-token"  # our token is refused: authentication fails
        target = thermometer(thermo.url, 10, name="ward-3")
        scheduler = make_scheduler(sessions, clock, [target], failures_before_alert=3)

        async def scenario() -> list[Round]:
            rounds = []
            for _ in range(5):
                rounds.append(outcome := await scheduler.run_once())
                clock.to(outcome.outcomes[0].next_due)
            thermo.secret = "s3cret-token"
            rounds.append(await scheduler.run_once())
            return rounds

        rounds = asyncio.run(scenario())
    outcomes = [r.outcomes[0] for r in rounds]
    assert [o.error.reason if o.error else None for o in outcomes] == [
        *["authentication_failed"] * 5,
        None,
    ]
    delays = [(o.next_due - o.started_at).total_seconds() for o in outcomes if o.next_due]
    # max(interval, 30 * 2^(k-1)), capped at 100; back to the interval after recovery.
    assert delays == [30, 60, 100, 100, 100, 10]
    assert [o.consecutive_failures for o in outcomes] == [1, 2, 3, 4, 5, 0]
    assert [[a.status for a in o.alerts] for o in outcomes] == [
        [],
        [],
        [AlertStatus.FIRING],
        [],
        [],
        [AlertStatus.RESOLVED],
    ]
    fired = outcomes[2].alerts[0]
    assert fired.name == "AuthenticationFailed"
    assert fired.fingerprint == fingerprint(target.key, "authentication_failed")
    assert fired.labels["target"] == target.key
    assert fired.labels["instance"] == thermo.url
    assert fired.starts_at == T0
    assert outcomes[5].alerts[0].fingerprint == fired.fingerprint
    # The real pipeline stored it once, and resolved it.
    assert _alerts(sessions) == [("AuthenticationFailed", fired.fingerprint, AlertStatus.RESOLVED)]


def test_a_reason_change_resolves_the_old_alert_and_raises_the_new(
    sessions: sessionmaker[Session],
) -> None:
    clock = ManualClock(T0)
    with running_thermometer() as thermo:
        thermo.secret = "rotated-token"
        target = thermometer(thermo.url, 10)
        scheduler = make_scheduler(sessions, clock, [target], failures_before_alert=1)

        async def scenario() -> list[Round]:
            first = await scheduler.run_once()
            clock.to(first.outcomes[0].next_due)
            thermo.status = 500  # now it answers, but nonsense
            thermo.secret = "s3cret-token"
            return [first, await scheduler.run_once()]

        first, second = asyncio.run(scenario())
    assert [a.name for a in first.outcomes[0].alerts] == ["AuthenticationFailed"]
    assert [(a.name, a.status) for a in second.outcomes[0].alerts] == [
        ("AuthenticationFailed", AlertStatus.RESOLVED),
        ("CollectorProtocolError", AlertStatus.FIRING),
    ]
    assert [(n, s) for n, _, s in _alerts(sessions)] == [
        ("AuthenticationFailed", AlertStatus.RESOLVED),
        ("CollectorProtocolError", AlertStatus.FIRING),
    ]


def test_a_restart_keeps_the_failure_count_and_does_not_raise_again(
    sessions: sessionmaker[Session],
) -> None:
    clock = ManualClock(T0)
    url = dead_url()
    target = thermometer(url, 10, ci_id=None)

    async def fail(scheduler: Scheduler, times: int) -> list[Round]:
        rounds = []
        for _ in range(times):
            rounds.append(outcome := await scheduler.run_once())
            clock.to(outcome.outcomes[0].next_due)
        return rounds

    before = asyncio.run(
        fail(make_scheduler(sessions, clock, [target], failures_before_alert=2), 2)
    )
    assert [len(r.outcomes[0].alerts) for r in before] == [0, 1]
    assert before[1].outcomes[0].alerts[0].name == "TargetUnreachable"
    # A new scheduler (a restart): the streak goes on from 2; no second alert.
    after = asyncio.run(fail(make_scheduler(sessions, clock, [target], failures_before_alert=2), 2))
    assert [r.outcomes[0].consecutive_failures for r in after] == [3, 4]
    assert [len(r.outcomes[0].alerts) for r in after] == [0, 0]
    with sessions() as session:
        state = session.get(TargetState, target.key)
        assert state is not None
        assert (state.consecutive_failures, state.alert_raised) == (4, True)
        assert state.last_reason == "unreachable"
        assert state.failing_since == T0
    assert len(_alerts(sessions)) == 1
    # The back-off also survives: a third failure after restart waits the capped 100 s.
    delays = [(r.outcomes[0].next_due - r.outcomes[0].started_at).total_seconds() for r in after]
    assert delays == [100, 100]


def test_the_concurrency_limit_is_honoured(sessions: sessionmaker[Session]) -> None:
    clock = ManualClock(T0)
    with running_thermometer() as thermo:
        thermo.release.clear()  # hold every request until the test lets go
        targets = [thermometer(f"{thermo.url}/t{i}", 60) for i in range(6)]
        scheduler = make_scheduler(sessions, clock, targets, concurrency=2)

        async def scenario() -> Round:
            task = asyncio.create_task(scheduler.run_once())
            for expected in (2, 4, 6):
                await asyncio.to_thread(thermo.wait_for, lambda t, n=expected: t.requests >= n)
                await asyncio.to_thread(thermo.wait_for, lambda t: t.in_flight == 2)
                observed = thermo.max_in_flight
                assert observed == 2, observed
                thermo.release.set()
                await asyncio.to_thread(thermo.wait_for, lambda t: t.in_flight == 0)
                thermo.release.clear()
            return await task

        polled = asyncio.run(scenario())
    assert len(polled.outcomes) == 6
    assert polled.failed == []
    assert thermo.max_in_flight == 2


def test_a_poll_that_does_not_finish_times_out(sessions: sessionmaker[Session]) -> None:
    clock = ManualClock(T0)
    with running_thermometer() as thermo:
        thermo.release.clear()
        target = thermometer(thermo.url, 60)
        scheduler = make_scheduler(sessions, clock, [target], timeout_seconds=0.2)
        polled = asyncio.run(scheduler.run_once())
    (outcome,) = polled.outcomes
    assert outcome.error is not None
    assert outcome.error.reason == "unreachable"
    assert "no complete answer within 0.2 s" in outcome.error.detail


class _Crashing:
    """A collector with a bug whose message quotes a credential."""

    async def poll(self, target: Target) -> PollResult:
        raise RuntimeError(f"oops, token was {target.credentials}")


def test_collector_bugs_and_unknown_kinds_are_failures_not_crashes(
    sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock(T0)
    targets = [Target("broken", "http://127.0.0.1:9/x", 60), Target("nobody", "x:1", 60)]
    scheduler = make_scheduler(
        sessions, clock, targets, pollers={"broken": _Crashing()}, failures_before_alert=1
    )
    polled = asyncio.run(scheduler.run_once())
    reasons = {o.target: (o.error.reason, o.error.detail) for o in polled.outcomes if o.error}
    assert reasons == {
        "broken:http://127.0.0.1:9/x": ("protocol_error", "collector crashed (RuntimeError)"),
        "nobody:x:1": ("protocol_error", "no collector for kind 'nobody'"),
    }
    assert sorted(n for n, _, _ in _alerts(sessions)) == ["CollectorProtocolError"] * 2


class _Refusing:
    """An alert sink that is down."""

    def __init__(self) -> None:
        self.calls = 0

    def submit(self, session: Session, alerts: Sequence[CanonicalAlert]) -> None:
        self.calls += 1
        raise ConnectionError("pipeline down")


def test_a_refused_alert_is_retried_at_the_next_poll(sessions: sessionmaker[Session]) -> None:
    clock = ManualClock(T0)
    target = thermometer(dead_url(), 10)
    refusing = _Refusing()
    down = make_scheduler(sessions, clock, [target], sink=refusing, failures_before_alert=1)
    first = asyncio.run(down.run_once())
    assert first.outcomes[0].alerts == ()
    assert refusing.calls == 1
    with sessions() as session:
        state = session.get(TargetState, target.key)
        assert state is not None
        assert (state.consecutive_failures, state.alert_raised) == (1, False)
    clock.to(first.outcomes[0].next_due)
    up = make_scheduler(sessions, clock, [target], failures_before_alert=1)
    second = asyncio.run(up.run_once())
    assert [a.status for a in second.outcomes[0].alerts] == [AlertStatus.FIRING]
    assert len(_alerts(sessions)) == 1


def test_run_polls_until_stopped_and_counts_at_metrics(sessions: sessionmaker[Session]) -> None:
    def figure(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, {"kind": KIND, **labels}) or 0.0

    written_before = figure("fulcrum_collector_samples_written_total")
    failed_before = figure("fulcrum_collector_poll_errors_total", reason="unreachable")
    timed_before = figure("fulcrum_collector_poll_duration_seconds_count")
    with running_thermometer() as thermo:
        # The service runs on the real clock; short intervals so both targets come due.
        targets = [thermometer(thermo.url, 0.5), thermometer(dead_url(), 0.5)]
        scheduler = make_scheduler(sessions, utcnow, targets)

        async def scenario() -> None:
            stop = asyncio.Event()
            runner = asyncio.create_task(scheduler.run(stop))
            for _ in range(500):  # bounded: until both targets have a recorded poll
                if _scalar(sessions, select(func.count()).select_from(TargetState)) == 2:
                    break
                await asyncio.sleep(0.02)
            stop.set()
            await asyncio.wait_for(runner, timeout=10)
            assert runner.done()

        asyncio.run(scenario())
    stored = _scalar(sessions, select(func.count()).select_from(StoredSample))
    assert stored >= 1
    assert thermo.requests >= 1
    assert figure("fulcrum_collector_samples_written_total") >= written_before + 1
    assert figure("fulcrum_collector_poll_errors_total", reason="unreachable") >= failed_before + 1
    assert figure("fulcrum_collector_poll_duration_seconds_count") >= timed_before + 2
    assert REGISTRY.get_sample_value("fulcrum_collector_targets", {"kind": KIND}) == 2
