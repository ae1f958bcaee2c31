"""`fulcrum serve`'s background jobs: started with the app, isolated from each other."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.background import BackgroundServices, PeriodicJob
from itsm_core.incidents.choices import IncidentState
from itsm_core.incidents.models import Incident
from itsm_core.settings import Settings
from itsm_core.timeutil import utcnow
from tests.itsm_core.incidents import factories as f


def _settings(database_url: str, **background: object) -> Settings:
    return Settings(
        {"database": {"url": database_url}, "background": {"interval_scale": 0.01, **background}}
    )


def test_serve_closes_old_resolved_incidents_in_the_background(
    database_url: str, engine: Engine, sessions: sessionmaker[Session]
) -> None:
    with sessions() as s, s.begin():
        old = f.incident_in(s, IncidentState.RESOLVED)
        old.resolved_at = utcnow() - timedelta(days=10)
        s.flush()
        old_id = old.id
    app = create_app(_settings(database_url), engine, background=True)
    with TestClient(app):
        deadline = time.monotonic() + 20
        state = IncidentState.RESOLVED
        while time.monotonic() < deadline and state != IncidentState.CLOSED:
            time.sleep(0.1)
            with sessions() as s:
                state = s.get_one(Incident, old_id).state
    assert state == IncidentState.CLOSED


def test_disabled_background_runs_nothing(
    database_url: str, engine: Engine, sessions: sessionmaker[Session]
) -> None:
    with sessions() as s, s.begin():
        old = f.incident_in(s, IncidentState.RESOLVED)
        old.resolved_at = utcnow() - timedelta(days=10)
        s.flush()
        old_id = old.id
    app = create_app(_settings(database_url, enabled=False), engine, background=True)
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        time.sleep(0.5)
    assert not hasattr(app.state, "background")
    with sessions() as s:
        assert s.get_one(Incident, old_id).state == IncidentState.RESOLVED


def test_a_failing_job_neither_stops_the_others_nor_raises(
    database_url: str, sessions: sessionmaker[Session]
) -> None:
    seen: list[datetime] = []

    def broken(_s: sessionmaker[Session], _c: Settings, _now: datetime) -> int:
        raise RuntimeError("boom")

    def counting(_s: sessionmaker[Session], _c: Settings, now: datetime) -> int:
        seen.append(now)
        return 1

    services = BackgroundServices(
        sessions,
        _settings(database_url),
        [PeriodicJob("broken", 1, broken), PeriodicJob("counting", 1, counting)],
    )

    async def run_briefly() -> None:
        stop = asyncio.Event()
        runner = asyncio.create_task(services.run(stop))
        for _ in range(200):
            if len(seen) >= 3:
                break
            await asyncio.sleep(0.02)
        stop.set()
        await runner

    asyncio.run(run_briefly())
    assert len(seen) >= 3
    assert services.runs["broken"] == 0
    assert services.runs["counting"] >= 3


def test_a_disabled_job_is_not_scheduled(
    database_url: str, sessions: sessionmaker[Session]
) -> None:
    def job(_s: sessionmaker[Session], _c: Settings, _now: datetime) -> int:
        return 0

    services = BackgroundServices(
        sessions,
        _settings(database_url, disabled_jobs=["quiet"]),
        [PeriodicJob("quiet", 1, job), PeriodicJob("loud", 1, job)],
    )
    assert list(services.runs) == ["loud"]
