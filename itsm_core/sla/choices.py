"""Enumerations of the SLA package."""

from enum import StrEnum


class DaySource(StrEnum):
    """Which authority decided how a calendar day is classified."""

    WEEKDAY_RULE = "weekday_rule"
    """The calendar's weekly hours alone (calendar without PRC holidays)."""
    CHINESE_CALENDAR = "chinese_calendar"
    """Published State Council schedule, as shipped by the ``chinese-calendar`` library."""
    HOLIDAYS_PUBLISHED = "holidays_published"
    """Published schedule (with make-up days) shipped by the ``holidays`` library."""
    HOLIDAYS_PREDICTION = "holidays_prediction"
    """Rule-based prediction of the ``holidays`` library for a year not yet published."""
    OFFICIAL_NOTICE = "official_notice"
    """An official notice an administrator loaded into the calendar."""
    CUSTOM = "custom"
    """A per-calendar override, e.g. the hospital's own closure day."""


class DayKind(StrEnum):
    """What a day is, before working hours are applied."""

    REGULAR = "regular"
    """No declaration applies: the weekly hours of its weekday."""
    HOLIDAY = "holiday"
    """Declared day off (statutory holiday, in-lieu rest day, custom closure)."""
    MAKEUP_WORKDAY = "makeup_workday"
    """Declared working day (调休 make-up day, custom working day)."""


class SlaMetric(StrEnum):
    """What an incident SLA record measures."""

    OWN = "own"
    """Time to own: from logging until someone accepts the incident (or it is resolved)."""
    RESOLVE = "resolve"
    """Time to resolve: from logging until the incident is resolved."""


class SlaState(StrEnum):
    """Where an incident SLA record stands, derived from the incident's facts and ``now``."""

    RUNNING = "running"
    PAUSED = "paused"
    """An open pause (pending on the requester) stops the clock before the target ran out."""
    MET = "met"
    """Stopped (accepted / resolved) before the due time."""
    BREACHED = "breached"
    """The due time passed while the clock ran, stopped or not."""
    CANCELLED = "cancelled"
    """Stopped by cancellation before the due time, or no policy applies any longer."""


# The clock still runs (or may run again without a new fact): the background job's work.
ACTIVE_STATES = frozenset({SlaState.RUNNING, SlaState.PAUSED})


class SlaEventKind(StrEnum):
    """What an ``sla_events`` row records."""

    STARTED = "started"
    WARNING = "warning"
    BREACH = "breach"
    MET = "met"
    PAUSED = "paused"
    RESUMED = "resumed"
    REOPENED = "reopened"
    """A met or cancelled record runs again (the incident was reopened)."""
    RECALCULATED = "recalculated"
    """The due time moved: another policy, new targets, calendar data or a notice."""
    CANCELLED = "cancelled"
