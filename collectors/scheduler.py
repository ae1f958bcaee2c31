"""The poll scheduler: every target on its interval, bounded, timed out, backed off.

``Scheduler`` (``[collectors]`` settings) keeps one slot per target key:

- **interval with jitter** — after a poll that started at *t*, the next is due at
  *t* + interval * (1 ± ``jitter_share``); targets new to a running scheduler start at a
  random point of their first interval, so 10,000 devices do not all poll at :00;
- **concurrency** — at most ``concurrency`` polls run at once (one ``asyncio.Semaphore``);
- **timeout** — a poll that has not finished after ``timeout_seconds`` fails as
  ``TargetUnreachable``;
- **back-off** — after *k* consecutive failures the wait is
  max(interval, ``backoff_base_seconds`` * 2^(k-1)), at most ``backoff_max_seconds``
  (± jitter); the count comes from ``collector_target_state``, so it survives restarts.

Each result goes, in short transactions in a worker thread (SQLAlchemy is synchronous),
to discovery (``collectors.discovery.apply_discovery``), then to the metric store
(``write_samples``), then to ``HealthTracker`` (alerts after N failures, resolved on
recovery). A collector that raises something other than ``CollectorError`` (a bug) is
logged and counted as ``protocol_error``; a database that is down is logged and retried
at the next poll. Nothing here stops the loop but ``stop``.

``run(stop)`` is the long-running service of ``fulcrum serve``; ``run_once()`` polls the
targets due now and returns what happened (tests, troubleshooting). The clock and the
random source are injectable.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerting.canonical import AlertSink, CanonicalAlert
from collectors import instruments
from collectors.choices import TargetKind
from collectors.discovery import apply_discovery
from collectors.errors import CollectorError
from collectors.health import HealthTracker
from collectors.pollers import Closeable, Poller, RecordsFailures, poll_once
from collectors.result import PollResult
from collectors.settings import CollectorSettings
from collectors.store.tables import one_of
from collectors.store.writer import write_samples
from collectors.target_state import TargetState
from collectors.targets import Target, load_targets
from itsm_core.actor import SYSTEM, Actor
from itsm_core.db import unit_of_work
from itsm_core.settings import Settings
from itsm_core.timeutil import utcnow

log = logging.getLogger("fulcrum.collectors.scheduler")

# Discovery writes are audited as the collector, not as an anonymous "system".
COLLECTOR_ACTOR = Actor(name="collector", roles=SYSTEM.roles)

TargetLoader = Callable[[Session], Sequence[Target]]
# The longest the loop sleeps before looking again (new targets, stop).
_MAX_IDLE_SECONDS = 1.0


@dataclass
class _Slot:
    target: Target
    due: datetime
    failures: int = 0
    running: bool = False


@dataclass(frozen=True, slots=True)
class PollOutcome:
    """One poll of one target: what failed (if anything), what was stored and raised."""

    target: str
    started_at: datetime
    error: CollectorError | None
    samples: int = 0
    written: int = 0
    consecutive_failures: int = 0
    alerts: tuple[CanonicalAlert, ...] = ()
    next_due: datetime | None = None


@dataclass(frozen=True, slots=True)
class Round:
    """What ``run_once`` did."""

    outcomes: list[PollOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[PollOutcome]:
        return [o for o in self.outcomes if o.error is not None]

    @property
    def written(self) -> int:
        return sum(o.written for o in self.outcomes)


class Scheduler:
    """Polls targets on their intervals (see the module docstring)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        *,
        pollers: Mapping[str, Poller],
        sink: AlertSink,
        targets: TargetLoader | None = None,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self.config = settings.section(CollectorSettings)
        self._sessions = sessions
        self._pollers = pollers
        self._load: TargetLoader = targets or (lambda session: load_targets(session, settings))
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._limit = asyncio.Semaphore(self.config.concurrency)
        self._health = HealthTracker(sink, self.config.failures_before_alert)
        self._slots: dict[str, _Slot] = {}
        self._refreshed_at: datetime | None = None
        self._failing: Counter[str] = Counter()

    # -- public ----------------------------------------------------------------------
    @property
    def targets(self) -> list[Target]:
        return [slot.target for slot in self._slots.values()]

    def due_at(self, key: str) -> datetime:
        """When the target ``key`` is next due."""
        return self._slots[key].due

    async def refresh(self, *, spread: bool = False) -> None:
        """Re-read the targets; new ones are due now (or, with ``spread``, within their
        first interval); gone ones are dropped; changed ones keep their schedule."""
        now = self._clock()
        loaded = await asyncio.to_thread(self._read_targets)
        targets = {t.key: t for t in loaded}
        failures = await asyncio.to_thread(self._failure_counts, set(targets) - set(self._slots))
        for key in set(self._slots) - set(targets):
            del self._slots[key]
        for key, target in targets.items():
            slot = self._slots.get(key)
            if slot is not None:
                slot.target = target
                continue
            due = now
            if spread:
                due += timedelta(seconds=self._rng.uniform(0, target.interval_seconds))
            self._slots[key] = _Slot(target, due, failures.get(key, 0))
        self._refreshed_at = now
        self._publish_gauges()

    async def run_once(self) -> Round:
        """Poll every target due now (all of them on a first call) and wait for them."""
        if self._refreshed_at is None or self._refresh_due(self._clock()):
            await self.refresh()
        now = self._clock()
        due = [slot for slot in self._slots.values() if slot.due <= now and not slot.running]
        outcomes = await asyncio.gather(*(self._poll(slot) for slot in due))
        return Round(list(outcomes))

    async def poll_now(self, keys: Iterable[str]) -> Round:
        """Poll the named targets at once, whatever their schedule (troubleshooting)."""
        slots = [self._slots[k] for k in keys if k in self._slots]
        outcomes = await asyncio.gather(*(self._poll(s) for s in slots if not s.running))
        return Round(list(outcomes))

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set (the service ``fulcrum serve`` runs)."""
        running: set[asyncio.Task[PollOutcome]] = set()
        try:
            await self._refresh_logged(spread=True)
            while not stop.is_set():
                now = self._clock()
                if self._refresh_due(now):
                    await self._refresh_logged(spread=True)
                for slot in self._slots.values():
                    if slot.due <= now and not slot.running:
                        slot.running = True  # now, not when the task first runs
                        task = asyncio.create_task(self._poll(slot), name=slot.target.key)
                        running.add(task)
                        task.add_done_callback(running.discard)
                await _sleep_or_stop(stop, self._idle_seconds(now))
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            await self.close()

    def next_delay(self, target: Target, failures: int) -> float:
        """Seconds from one poll's start to the next: interval or back-off, ± jitter."""
        base = target.interval_seconds
        if failures > 0:
            backoff = self.config.backoff_base_seconds * 2 ** min(failures - 1, 30)
            base = max(base, min(self.config.backoff_max_seconds, backoff))
        jitter = self.config.jitter_share
        return base * (1 + self._rng.uniform(-jitter, jitter))

    # -- one poll --------------------------------------------------------------------
    async def _poll(self, slot: _Slot) -> PollOutcome:
        slot.running = True
        target = slot.target
        try:
            async with self._limit:
                started = self._clock()
                began = time.perf_counter()
                result, error = await self._call(target)
                instruments.POLL_DURATION.labels(target.kind).observe(time.perf_counter() - began)
            if error is not None:
                result = self._failure_result(target, started)
            instruments.POLLS.labels(target.kind, "failed" if error else "ok").inc()
            if error is not None:
                instruments.POLL_ERRORS.labels(target.kind, error.reason).inc()
                log.info("poll of %s failed: %s: %s", target.key, error.reason, error.detail)
            try:
                outcome = await asyncio.to_thread(self._store, target, result, error, started)
            except Exception:
                log.exception("could not store the poll of %s; retrying next time", target.key)
                outcome = PollOutcome(
                    target.key, started, error, consecutive_failures=slot.failures
                )
            self._set_failing(target.kind, slot.failures, outcome.consecutive_failures)
            slot.failures = outcome.consecutive_failures
            slot.due = started + timedelta(seconds=self.next_delay(target, slot.failures))
            return dataclasses.replace(outcome, next_due=slot.due)
        finally:
            slot.running = False

    async def _call(self, target: Target) -> tuple[PollResult | None, CollectorError | None]:
        poller = self._pollers.get(target.kind)
        try:
            return await poll_once(poller, target, self.config.timeout_seconds), None
        except CollectorError as exc:
            return None, exc

    def _failure_result(self, target: Target, at: datetime) -> PollResult | None:
        """What a collector records for a failed poll (e.g. ``snmp_up 0``), if anything."""
        poller = self._pollers.get(target.kind)
        if not isinstance(poller, RecordsFailures):
            return None
        return PollResult(target=target.key, samples=poller.failure_samples(target, at))

    async def close(self) -> None:
        """Release what the collectors hold on this event loop (SNMP's UDP socket)."""
        for poller in self._pollers.values():
            if isinstance(poller, Closeable):
                await poller.aclose()

    def _store(
        self,
        target: Target,
        result: PollResult | None,
        error: CollectorError | None,
        started: datetime,
    ) -> PollOutcome:
        """In a worker thread: discovery, samples and health, each its own transaction."""
        written = 0
        if result is not None and (result.cis or result.relations):
            try:
                with unit_of_work(self._sessions) as session:
                    report = apply_discovery(session, COLLECTOR_ACTOR, result)
                for failure in report.failures:
                    log.warning("discovery of %s: %s", target.key, failure)
            except Exception:
                log.exception("discovery of %s failed; samples are still stored", target.key)
        if result is not None and result.samples:
            with unit_of_work(self._sessions) as session:
                written = write_samples(session, result.samples)
            instruments.SAMPLES_WRITTEN.labels(target.kind).inc(written)
        with unit_of_work(self._sessions) as session:
            change = self._health.record(session, target, error, self._clock())
        return PollOutcome(
            target=target.key,
            started_at=started,
            error=error,
            samples=0 if result is None else len(result.samples),
            written=written,
            consecutive_failures=change.consecutive_failures,
            alerts=change.alerts,
        )

    # -- bookkeeping -----------------------------------------------------------------
    def _read_targets(self) -> Sequence[Target]:
        with self._sessions() as session:
            return self._load(session)

    def _failure_counts(self, keys: set[str]) -> dict[str, int]:
        if not keys:
            return {}
        counts: dict[str, int] = {}
        wanted = sorted(keys)
        with self._sessions() as session:
            for start in range(0, len(wanted), 1000):
                rows = session.execute(
                    select(TargetState.target_key, TargetState.consecutive_failures).where(
                        one_of(session, TargetState.target_key, wanted[start : start + 1000])
                    )
                )
                counts.update((key, failures) for key, failures in rows)
        return counts

    async def _refresh_logged(self, *, spread: bool) -> None:
        try:
            await self.refresh(spread=spread)
        except Exception:
            # A broken targets file or a database hiccup: keep polling what we had.
            log.exception("could not re-read the collector targets; keeping %d", len(self._slots))
            self._refreshed_at = self._clock()

    def _refresh_due(self, now: datetime) -> bool:
        last = self._refreshed_at
        return last is None or (now - last).total_seconds() >= self.config.refresh_seconds

    def _idle_seconds(self, now: datetime) -> float:
        waiting = [s.due for s in self._slots.values() if not s.running]
        if not waiting:
            return _MAX_IDLE_SECONDS
        return max(0.0, min(_MAX_IDLE_SECONDS, (min(waiting) - now).total_seconds()))

    def _set_failing(self, kind: str, before: int, after: int) -> None:
        if (before > 0) != (after > 0):
            self._failing[kind] += 1 if after > 0 else -1
            instruments.TARGETS_FAILING.labels(kind).set(self._failing[kind])

    def _publish_gauges(self) -> None:
        kinds = Counter(slot.target.kind for slot in self._slots.values())
        failing = Counter(s.target.kind for s in self._slots.values() if s.failures > 0)
        for kind in {*kinds, *self._failing, *TargetKind}:
            instruments.TARGETS.labels(kind).set(kinds.get(kind, 0))
            instruments.TARGETS_FAILING.labels(kind).set(failing.get(kind, 0))
        self._failing = failing


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
