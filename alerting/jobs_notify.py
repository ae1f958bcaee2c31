"""Background jobs of escalation and notification, in the shape ``api.jobs`` runs.

Each is ``run(sessions, settings, now) -> int`` (how many things it did), one short unit
of work per call; ``fulcrum serve`` runs them periodically and ``fulcrum notify escalate``
/ ``fulcrum notify dispatch`` run them once. Suggested intervals: escalations every 30 s,
dispatch every 10 s.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from alerting.escalation.evaluation import evaluate_escalations
from alerting.notifications.dispatcher import dispatch_notifications
from itsm_core.db import unit_of_work
from itsm_core.settings import Settings


def run_escalations(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> int:
    """Fire the escalation steps due by ``now`` (``[escalation]``, escalation policies)."""
    with unit_of_work(sessions) as session:
        return len(evaluate_escalations(session, settings, now))


def run_dispatch(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> int:
    """Send the notifications due by ``now`` with retries (``[notifications]``)."""
    return dispatch_notifications(sessions, settings, now)
