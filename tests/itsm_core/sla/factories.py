"""Plain factories for SLA tests: calendars, zones and a pinned holiday source."""

from collections.abc import Iterable
from datetime import date
from itertools import count
from zoneinfo import ZoneInfo

from itsm_core.sla.choices import DayKind, DaySource
from itsm_core.sla.definition import (
    CalendarDefinition,
    DayOverride,
    OfficialNotice,
    WeekSchedule,
    hours,
)
from itsm_core.sla.holiday_sources import PrcDay, YearSchedule, default_prc_source

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


def office_definition(
    *spans: str,
    use_prc_holidays: bool = True,
    timezone: str = "Asia/Shanghai",
    overrides: Iterable[DayOverride] = (),
    notices: Iterable[OfficialNotice] = (),
) -> CalendarDefinition:
    """Mon-Fri office hours (08:00-17:30 unless ``spans`` are given)."""
    return CalendarDefinition(
        name="office",
        timezone=timezone,
        week=WeekSchedule.weekdays(hours(*(spans or ("08:00-17:30",)))),
        use_prc_holidays=use_prc_holidays,
        overrides=tuple(overrides),
        official_notices=tuple(notices),
    )


def unpublished_year() -> int:
    """The first year from 2027 on whose PRC schedule the installed libraries only predict.

    2027 with chinese-calendar 1.11 and holidays 0.109; computed so that the tests keep
    meaning the same thing when the libraries publish it.
    """
    source = default_prc_source()
    return next(year for year in count(2027) if not source.is_published(year))


class PinnedPrcSource:
    """A PRC source with fixed published years; every other year is an empty prediction."""

    def __init__(self, *schedules: YearSchedule) -> None:
        self._years = {schedule.year: schedule for schedule in schedules}

    def lookup(self, day: date) -> PrcDay:
        schedule = self._years.get(day.year)
        if schedule is None:
            return PrcDay(DayKind.REGULAR, None, DaySource.HOLIDAYS_PREDICTION, provisional=True)
        return schedule.lookup(day)


def published(year: int, holidays: dict[date, str], workdays: dict[date, str]) -> YearSchedule:
    """A published schedule, as chinese-calendar would give it."""
    return YearSchedule(year, holidays, workdays, DaySource.CHINESE_CALENDAR, provisional=False)
