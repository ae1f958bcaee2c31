"""Enumerations of incidents."""

from __future__ import annotations

from enum import StrEnum


class IncidentState(StrEnum):
    """Where an incident is in its lifecycle (see ``lifecycle`` for the moves)."""

    NEW = "new"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"


# Someone still has to work on it.
OPEN_STATES = frozenset(
    {IncidentState.NEW, IncidentState.ASSIGNED, IncidentState.IN_PROGRESS, IncidentState.PENDING}
)
# Nothing moves out of these.
FINAL_STATES = frozenset({IncidentState.CLOSED, IncidentState.CANCELLED})


class IncidentKind(StrEnum):
    """Seed 001: the desk first decides whether it is an incident, a question or a complaint."""

    INCIDENT = "incident"
    CONSULTATION = "consultation"
    COMPLAINT = "complaint"


class IncidentSource(StrEnum):
    """The channel the incident came in through."""

    PHONE = "phone"
    WECOM = "wecom"
    WEB = "web"
    EMAIL = "email"
    ALERT = "alert"
    API = "api"


class Level(StrEnum):
    """Impact and urgency are each rated on this three-step scale (ITIL)."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Priority(StrEnum):
    """P1 is the most urgent; values sort in priority order."""

    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"
    P5 = "P5"


class PendingReason(StrEnum):
    """Why work is paused; only ``requester`` pauses the SLA clock."""

    REQUESTER = "requester"
    VENDOR = "vendor"
    CHANGE = "change"
    OTHER = "other"


class ResolutionCode(StrEnum):
    """How an incident ended (the KPI and problem-management roll-ups group by it)."""

    FIXED = "fixed"
    WORKAROUND = "workaround"
    RESOLVED_BY_CHANGE = "resolved_by_change"
    SELF_RECOVERED = "self_recovered"
    NOT_REPRODUCIBLE = "not_reproducible"
    USER_ERROR = "user_error"
    ANSWERED = "answered"
    RESOLVED_WITH_PARENT = "resolved_with_parent"


class TimelineKind(StrEnum):
    """What a timeline entry records."""

    CREATED = "created"
    WORK_NOTE = "work_note"
    STATE_CHANGE = "state_change"
    ASSIGNMENT = "assignment"
    FIELD_CHANGE = "field_change"
    LINK = "link"
    MERGE = "merge"
    SYSTEM = "system"
    # Written by alerting: an alert joined, resolved or was damped; an escalation fired;
    # a notification was sent or failed.
    ALERT = "alert"
    ESCALATION = "escalation"
    NOTIFICATION = "notification"
