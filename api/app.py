"""The FastAPI application factory: wires settings, database, errors and routes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from api import errors
from api.background import BackgroundServices, BackgroundSettings
from api.jobs import JOBS, SERVICES
from api.metrics import MetricsMiddleware
from api.middleware import BodySizeLimitMiddleware, RequestIdMiddleware
from api.routes import (
    alert_intake,
    alert_routing,
    alerts,
    audit,
    changes,
    cmdb,
    escalation,
    health,
    incidents,
    notifications,
    people,
    series,
    sla,
)
from itsm_core.db import make_engine, make_session_factory
from itsm_core.settings import Settings

ROUTERS = [
    health.router,
    people.router,
    audit.router,
    cmdb.router,
    incidents.router,
    changes.router,
    sla.router,
    alert_intake.router,
    alerts.router,
    alert_routing.router,
    escalation.router,
    notifications.router,
    series.router,
]


def create_app(
    settings: Settings, engine: Engine | None = None, *, background: bool = False
) -> FastAPI:
    """An app bound to ``settings`` (and to ``engine`` when the caller already has one).

    ``background`` starts the periodic jobs and services of ``api.jobs`` with the app
    (``fulcrum serve`` does; tests drive the same job functions directly).
    """
    app = FastAPI(
        lifespan=_lifespan if background else None,
        title="Fulcrum",
        version="0.1.0",
        description="Monitoring-integrated AIOps and ITSM for hospital IT departments.",
    )
    app.state.settings = settings
    app.state.engine = engine if engine is not None else make_engine(settings.database)
    app.state.session_factory = make_session_factory(app.state.engine)
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router)
    # Outermost last: the request id exists before anything else runs or answers.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.api.max_body_bytes)
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(RequestIdMiddleware)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    if not settings.section(BackgroundSettings).enabled:
        yield
        return
    services = BackgroundServices(
        app.state.session_factory,
        settings,
        JOBS,
        [service(app.state.session_factory, settings) for service in SERVICES],
    )
    app.state.background = services
    stop = asyncio.Event()
    runner = asyncio.create_task(services.run(stop))
    try:
        yield
    finally:
        stop.set()
        await runner
