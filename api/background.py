"""Background services of ``fulcrum serve``: periodic jobs on the API's event loop.

Each job is one idempotent unit of work — ``run(sessions, settings, now) -> int`` (how
many things it did) — run in a worker thread so the API stays responsive, on the interval
the ``[background]`` settings give. A job that raises is logged and retried on its next
tick; it never stops the others or the API. Long-running services (the collector
scheduler) are plain coroutines started beside the jobs.

The same functions run from the CLI (``fulcrum sla evaluate``, ``fulcrum notify
escalate`` …) and, past one machine, as distributed tasks (issue 9).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import Field
from pydantic_settings import SettingsConfigDict
from sqlalchemy.orm import Session, sessionmaker

from itsm_core.settings import Section, Settings, register_section
from itsm_core.timeutil import utcnow

log = logging.getLogger("fulcrum.background")

JobFunction = Callable[[sessionmaker[Session], Settings, datetime], int]
Service = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


class BackgroundSettings(Section):
    """What ``fulcrum serve`` runs beside the API (``FULCRUM_BACKGROUND_…``)."""

    model_config = SettingsConfigDict(env_prefix="FULCRUM_BACKGROUND_", extra="forbid")

    enabled: bool = Field(
        default=True, description="Run the background jobs in `fulcrum serve` at all."
    )
    disabled_jobs: list[str] = Field(
        default_factory=list, max_length=50, description="Names of jobs not to run."
    )
    interval_scale: float = Field(
        default=1.0,
        gt=0,
        le=100,
        description="Multiplies every job's interval (below 1 in tests and demos).",
    )


register_section("background", BackgroundSettings)


@dataclass(frozen=True, slots=True)
class PeriodicJob:
    """``run`` every ``interval_seconds`` (scaled by ``[background] interval_scale``)."""

    name: str
    interval_seconds: float
    run: JobFunction


class BackgroundServices:
    """Runs periodic jobs and long-running services until ``stop`` is set."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        jobs: Sequence[PeriodicJob],
        services: Sequence[Service] = (),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        config = settings.section(BackgroundSettings)
        self._sessions = sessions
        self._settings = settings
        self._jobs = [j for j in jobs if j.name not in config.disabled_jobs]
        self._services = services
        self._scale = config.interval_scale
        self._clock = clock
        self.runs: dict[str, int] = {job.name: 0 for job in self._jobs}

    async def run(self, stop: asyncio.Event) -> None:
        tasks = [asyncio.create_task(self._loop(job, stop), name=job.name) for job in self._jobs]
        tasks += [asyncio.create_task(service(stop)) for service in self._services]
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _loop(self, job: PeriodicJob, stop: asyncio.Event) -> None:
        interval = job.interval_seconds * self._scale
        # Spread the first ticks so jobs do not all hit the database at start-up.
        await _sleep_or_stop(stop, random.uniform(0, min(interval, 5.0)))  # noqa: S311
        while not stop.is_set():
            await self.tick(job)
            await _sleep_or_stop(stop, interval)

    async def tick(self, job: PeriodicJob) -> int:
        """Run ``job`` once in a worker thread; failures are logged, never raised."""
        try:
            done = await asyncio.to_thread(job.run, self._sessions, self._settings, self._clock())
        except Exception:
            log.exception("background job %s failed; retrying on its next tick", job.name)
            return 0
        self.runs[job.name] += 1
        if done:
            log.info("background job %s: %d done", job.name, done)
        return done


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
