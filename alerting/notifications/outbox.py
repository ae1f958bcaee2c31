"""Queue a notification about an incident; a job delivers it with retries.

Placeholder until the notifications work lands: the signature of :func:`notify_incident`
is the contract the pipeline relies on. It only records the intent (flush, no I/O), so a
failing channel can never block ingestion.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from itsm_core.incidents.models import Incident


class NotificationEvent(StrEnum):
    OPENED = "opened"
    ESCALATED = "escalated"
    ALERTS_RESOLVED = "alerts_resolved"
    RESOLVED = "resolved"
    DEADMAN = "deadman"


def notify_incident(
    session: Session, incident: Incident, event: NotificationEvent, now: datetime
) -> None:
    """Queue ``event`` about ``incident`` for the channels its routing names."""
    del session, incident, event, now
