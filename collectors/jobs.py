"""The collectors' background work, in the shapes ``api.background`` runs.

- ``roll_up_and_expire_metrics`` — a periodic job ``run(sessions, settings, now) -> int``
  (every 5 minutes): 5-minute roll-ups and retention of the metric store
  (``[metrics]`` settings). One transaction, idempotent, safe on several replicas.
- ``collector_service`` — a long-running service factory ``(sessions, settings) ->
  Service``: the poll scheduler (``[collectors]`` settings) with the real collectors and
  the alert pipeline as its sink; a no-op that waits for ``stop`` when
  ``[collectors] enabled`` is false.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from alerting.intake import PipelineSink
from collectors.pollers import default_pollers
from collectors.scheduler import Scheduler
from collectors.settings import CollectorSettings
from collectors.store.retention import apply_retention
from itsm_core.db import unit_of_work
from itsm_core.settings import Settings

# ``api.background.Service`` (collectors may not import api).
Service = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


def roll_up_and_expire_metrics(
    sessions: sessionmaker[Session], settings: Settings, now: datetime
) -> int:
    """Roll closed 5-minute buckets up, then expire raw samples, roll-ups and quiet series."""
    with unit_of_work(sessions) as session:
        return apply_retention(session, settings, now).total


def collector_service(sessions: sessionmaker[Session], settings: Settings) -> Service:
    """The scheduler's ``run(stop)``, ready for ``api.jobs.SERVICES``."""
    if not settings.section(CollectorSettings).enabled:
        return _idle
    scheduler = Scheduler(
        sessions, settings, pollers=default_pollers(settings), sink=PipelineSink(settings)
    )
    return scheduler.run


async def _idle(stop: asyncio.Event) -> None:
    await stop.wait()
