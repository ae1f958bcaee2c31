"""Calendar definitions: plain, JSON-serialisable data validated by pydantic.

A ``CalendarDefinition`` is what an administrator edits and what the database stores
(``definition.model_dump(mode="json")`` / ``CalendarDefinition.model_validate(data)``).
It holds no caches and does no date arithmetic: ``BusinessCalendar`` does that.

Validation errors are pydantic ``ValidationError``, a subclass of ``ValueError``.
"""

import unicodedata
from collections import Counter
from collections.abc import Hashable, Sequence
from datetime import date
from itertools import pairwise
from typing import Annotated, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

_START = r"^(?:[01]\d|2[0-3]):[0-5]\d$"
_END = r"^(?:(?:[01]\d|2[0-3]):[0-5]\d|24:00)$"


def printable(value: str) -> str:
    """``value`` if it holds no control characters (PostgreSQL refuses NUL in text)."""
    if any(unicodedata.category(char) == "Cc" and char not in "\t\n\r" for char in value):
        raise ValueError("control characters are not allowed")
    return value


Label = Annotated[str, Field(max_length=100), AfterValidator(printable)]
"""A holiday or override name."""


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def check_timezone(value: str) -> str:
    """``value`` if it names an IANA time zone, else ``ValueError``."""
    try:
        ZoneInfo(value)
    # OSError: a directory ("America") or an overlong name is not a zone either.
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WorkingInterval(_Frozen):
    """Working time within one local day: ``[start, end)`` as ``"HH:MM"``.

    ``end`` may be ``"24:00"`` (midnight at the end of the day). Night shifts that cross
    midnight are two intervals, e.g. ``22:00-24:00`` and ``00:00-06:00``, so that each
    part follows the classification (holiday or not) of its own date.
    """

    start: str = Field(pattern=_START)
    end: str = Field(pattern=_END)

    @model_validator(mode="after")
    def _check_order(self) -> Self:
        if self.start_minute >= self.end_minute:
            raise ValueError(f"working interval {self.start}-{self.end} must end after it starts")
        return self

    @property
    def start_minute(self) -> int:
        """Minutes after local midnight at which the interval starts."""
        return _minutes(self.start)

    @property
    def end_minute(self) -> int:
        """Minutes after local midnight at which the interval ends (1440 for ``24:00``)."""
        return _minutes(self.end)

    @classmethod
    def parse(cls, text: str) -> Self:
        """Parse ``"08:00-12:00"``."""
        start, sep, end = text.partition("-")
        if not sep:
            raise ValueError(f"expected 'HH:MM-HH:MM', got {text!r}")
        return cls(start=start.strip(), end=end.strip())


def hours(*spans: str) -> tuple[WorkingInterval, ...]:
    """Shorthand for a day's intervals: ``hours("08:00-12:00", "13:30-17:30")``."""
    return tuple(WorkingInterval.parse(span) for span in spans)


def _check_day(intervals: tuple[WorkingInterval, ...]) -> tuple[WorkingInterval, ...]:
    for earlier, later in pairwise(intervals):
        if later.start_minute < earlier.end_minute:
            raise ValueError("a day's working intervals must be sorted and must not overlap")
    return intervals


DayHours = Annotated[tuple[WorkingInterval, ...], AfterValidator(_check_day)]
"""A day's working intervals, sorted and non-overlapping (touching is allowed)."""

ALL_DAY: tuple[WorkingInterval, ...] = (WorkingInterval(start="00:00", end="24:00"),)


class WeekSchedule(_Frozen):
    """Working hours per weekday; a weekday with no intervals is a day off."""

    mon: DayHours = ()
    tue: DayHours = ()
    wed: DayHours = ()
    thu: DayHours = ()
    fri: DayHours = ()
    sat: DayHours = ()
    sun: DayHours = ()

    def for_weekday(self, weekday: int) -> tuple[WorkingInterval, ...]:
        """Intervals of a weekday as ``date.weekday()`` numbers it (0 = Monday)."""
        return (self.mon, self.tue, self.wed, self.thu, self.fri, self.sat, self.sun)[weekday]

    @classmethod
    def weekdays(cls, intervals: tuple[WorkingInterval, ...]) -> Self:
        """The same hours Monday to Friday, weekends off."""
        return cls(mon=intervals, tue=intervals, wed=intervals, thu=intervals, fri=intervals)

    @classmethod
    def every_day(cls, intervals: tuple[WorkingInterval, ...]) -> Self:
        """The same hours on all seven days."""
        return cls(
            mon=intervals,
            tue=intervals,
            wed=intervals,
            thu=intervals,
            fri=intervals,
            sat=intervals,
            sun=intervals,
        )


class DayOverride(_Frozen):
    """A calendar's own declaration for one date; it wins over every other source.

    ``working=False`` closes the day (e.g. the hospital's own closure day).
    ``working=True`` opens it with ``intervals``, or with the hours of the calendar's
    ``makeup_weekday`` when ``intervals`` is None.
    """

    day: date
    working: bool
    intervals: DayHours | None = None
    name: Label = ""

    @model_validator(mode="after")
    def _check_hours(self) -> Self:
        if not self.working and self.intervals:
            raise ValueError(f"override for {self.day}: a closed day has no working intervals")
        if self.working and self.intervals == ():
            raise ValueError(f"override for {self.day}: a working day needs intervals or None")
        return self


class OfficialNotice(_Frozen):
    """One year's official holiday notice (国务院办公厅关于…部分节假日安排的通知).

    Loading it makes every date of ``year`` follow the notice instead of the libraries:
    listed ``holidays`` are days off, listed ``workdays`` are make-up working days (调休),
    all other dates follow the weekly hours. Values are the holiday names. A notice may
    list dates in the neighbouring years (a make-up day in late December, say); those
    listed dates are applied too.
    """

    year: int = Field(ge=1949, le=9998)
    title: Annotated[str, Field(max_length=500), AfterValidator(printable)] = ""
    holidays: dict[date, Label] = Field(default_factory=dict, max_length=400)
    workdays: dict[date, Label] = Field(default_factory=dict, max_length=400)

    @model_validator(mode="after")
    def _check_dates(self) -> Self:
        both = self.holidays.keys() & self.workdays.keys()
        if both:
            raise ValueError(f"notice {self.year}: dates both holiday and workday: {sorted(both)}")
        for day in (*self.holidays, *self.workdays):
            if abs(day.year - self.year) > 1:
                raise ValueError(f"notice {self.year}: {day} is too far from the notice's year")
        return self


class CalendarDefinition(_Frozen):
    """A named business calendar: weekly hours, time zone, holidays and overrides.

    Precedence for a date: ``overrides`` > ``official_notices`` > PRC holiday libraries
    (``use_prc_holidays``) > ``week``.
    """

    name: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(printable)]
    timezone: str = "Asia/Shanghai"
    week: WeekSchedule
    use_prc_holidays: bool = False
    makeup_weekday: int = Field(default=0, ge=0, le=6)
    """Weekday (0 = Monday) whose hours apply on a make-up working day."""
    overrides: tuple[DayOverride, ...] = Field(default=(), max_length=3000)
    official_notices: tuple[OfficialNotice, ...] = Field(default=(), max_length=200)

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        return check_timezone(value)

    @model_validator(mode="after")
    def _check_consistency(self) -> Self:
        if not any(self.week.for_weekday(weekday) for weekday in range(7)):
            raise ValueError("the week has no working hours at all")
        _reject_duplicates("override dates", [override.day for override in self.overrides])
        _reject_duplicates("notice years", [notice.year for notice in self.official_notices])
        if self.official_notices and not self.use_prc_holidays:
            raise ValueError("official notices apply only to a calendar with use_prc_holidays")
        needs_makeup_hours = self.use_prc_holidays or any(
            override.working and override.intervals is None for override in self.overrides
        )
        if needs_makeup_hours and not self.week.for_weekday(self.makeup_weekday):
            raise ValueError(f"makeup_weekday {self.makeup_weekday} has no working hours")
        _reject_notice_conflicts(self.official_notices)
        return self

    @classmethod
    def twenty_four_seven(cls, name: str, timezone: str = "Asia/Shanghai") -> Self:
        """Round the clock, every day, no holidays: business time is elapsed time."""
        return cls(name=name, timezone=timezone, week=WeekSchedule.every_day(ALL_DAY))


def _reject_duplicates(what: str, values: Sequence[Hashable]) -> None:
    repeated = sorted(str(value) for value, count in Counter(values).items() if count > 1)
    if repeated:
        raise ValueError(f"duplicate {what}: {repeated}")


def _reject_notice_conflicts(notices: tuple[OfficialNotice, ...]) -> None:
    # Neighbouring years' notices may both list a boundary date; they must agree.
    seen: dict[date, bool] = {}
    for notice in notices:
        for day, is_workday in [
            *((day, False) for day in notice.holidays),
            *((day, True) for day in notice.workdays),
        ]:
            if seen.setdefault(day, is_workday) != is_workday:
                raise ValueError(f"official notices disagree about {day}")
