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
