"""The periodic jobs ``fulcrum serve`` runs, each a thin wrapper over a domain function."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from alerting.jobs import prune_webhook_deliveries, run_deadman_check
from alerting.jobs_notify import run_dispatch, run_escalations
from api.background import PeriodicJob, Service
from collectors.jobs import collector_service, roll_up_and_expire_metrics
from itsm_core.db import unit_of_work
from itsm_core.incidents.jobs import close_resolved
from itsm_core.settings import Settings
from itsm_core.sla.evaluation import evaluate


def evaluate_sla(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> int:
    """SLA warnings and breaches due by ``now`` (``[sla] warning_share``)."""
    with unit_of_work(sessions) as session:
        run = evaluate(session, now, warning_share=settings.sla.warning_share)
    return run.warnings + run.breaches


def close_resolved_incidents(
    sessions: sessionmaker[Session], settings: Settings, now: datetime
) -> int:
    """Close incidents resolved longer ago than ``[incidents] auto_close_after_hours``."""
    after = timedelta(hours=settings.incidents.auto_close_after_hours)
    with unit_of_work(sessions) as session:
        return len(close_resolved(session, after, now=now))


def optimize_sqlite(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> int:
    """``PRAGMA optimize`` keeps SQLite's planner statistics fresh as tables grow."""
    del settings, now
    with sessions() as session:
        if session.get_bind().dialect.name != "sqlite":
            return 0
        session.execute(text("PRAGMA optimize"))
        session.commit()
    return 1


JOBS: list[PeriodicJob] = [
    PeriodicJob("sla_evaluate", 30, evaluate_sla),
    PeriodicJob("incidents_close_resolved", 300, close_resolved_incidents),
    PeriodicJob("sqlite_optimize", 6 * 3600, optimize_sqlite),
    # Alerting: [escalation], [notifications] and [alerting] deadman_* settings.
    PeriodicJob("escalations", 30, run_escalations),
    PeriodicJob("notifications_dispatch", 10, run_dispatch),
    PeriodicJob("alerting_deadman", 60, run_deadman_check),
    PeriodicJob("alerting_prune_deliveries", 3600, prune_webhook_deliveries),
    # Metric store: [metrics] retention and roll-up settings.
    PeriodicJob("metrics_rollup_retention", 300, roll_up_and_expire_metrics),
]

# Long-running services, each built from the session factory and settings.
SERVICES: list[Callable[[sessionmaker[Session], Settings], Service]] = [
    # The collector scheduler ([collectors] enabled, interval, concurrency …).
    collector_service,
]
