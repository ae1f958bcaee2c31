"""Alerting's periodic jobs, in the ``run(sessions, settings, now) -> int`` shape of
``api.background``: each one transaction, idempotent, safe to run on several replicas.

- ``run_deadman_check`` (every minute): the dead-man switch on the Watchdog heartbeat;
- ``prune_webhook_deliveries`` (hourly): forget old delivery digests.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from alerting.deadman import check_deadman
from alerting.intake import prune_deliveries
from itsm_core.db import unit_of_work
from itsm_core.settings import Settings


def run_deadman_check(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> int:
    """Open the alert-pipeline incident if the heartbeat is overdue (1 if it did)."""
    with unit_of_work(sessions) as session:
        return 1 if check_deadman(session, settings, now) is not None else 0


def prune_webhook_deliveries(
    sessions: sessionmaker[Session], settings: Settings, now: datetime
) -> int:
    """Delete delivery digests older than ``[alerting] delivery_retention_hours``."""
    with unit_of_work(sessions) as session:
        return prune_deliveries(session, settings, now)
