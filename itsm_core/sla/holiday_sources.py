"""Sources of PRC statutory holidays and make-up working days (调休).

The State Council publishes each year's schedule around November or December of the year
before. ``chinese-calendar`` ships the published years it knows; past its last year the
``holidays`` library either ships the published schedule too (a year for which it lists
make-up working days) or predicts the fixed holidays by rule. A prediction is marked
*provisional*: the real notice may move days off and add make-up working days, so an
administrator loads it as an ``OfficialNotice`` on the calendar, which overrides both.

A source is a constructor argument of ``BusinessCalendar``, so tests can pin coverage
instead of depending on the installed library versions.
"""

from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Protocol

import chinese_calendar
from holidays import country_holidays

from itsm_core.sla.choices import DayKind, DaySource


@dataclass(frozen=True, slots=True)
class PrcDay:
    """What a PRC holiday source says about one date."""

    kind: DayKind
    name: str | None
    source: DaySource
    provisional: bool


class PrcHolidaySource(Protocol):
    """Classifies dates under the PRC statutory holiday schedule."""

    def lookup(self, day: date) -> PrcDay:
        """The declaration for ``day`` (``DayKind.REGULAR`` when none applies)."""
        ...


@dataclass(frozen=True, slots=True)
class YearSchedule:
    """One year's declared days off and make-up working days, with their provenance."""

    year: int
    holidays: dict[date, str]
    workdays: dict[date, str]
    source: DaySource
    provisional: bool

    def lookup(self, day: date) -> PrcDay:
        """Classify a date of this schedule's year."""
        name = self.workdays.get(day)
        if name is not None:
            return PrcDay(DayKind.MAKEUP_WORKDAY, name, self.source, self.provisional)
        name = self.holidays.get(day)
        if name is not None:
            return PrcDay(DayKind.HOLIDAY, name, self.source, self.provisional)
        return PrcDay(DayKind.REGULAR, None, self.source, self.provisional)


class LibraryPrcHolidays:
    """``chinese-calendar`` for the years it covers, then the ``holidays`` library.

    Each year is loaded once and kept; instances are safe to share (see
    ``default_prc_source``).
    """

    def __init__(self) -> None:
        self._years: dict[int, YearSchedule] = {}
        known: list[date] = list(chinese_calendar.holidays)
        self._covered = range(min(known).year, max(known).year + 1)

    @property
    def chinese_calendar_years(self) -> range:
        """Years for which ``chinese-calendar`` has published data."""
        return self._covered

    def lookup(self, day: date) -> PrcDay:
        """The declaration for ``day`` by the best library source for its year."""
        return self.year(day.year).lookup(day)

    def year(self, year: int) -> YearSchedule:
        """The schedule of ``year`` and where it came from."""
        schedule = self._years.get(year)
        if schedule is None:
            schedule = self._years[year] = self._load(year)
        return schedule

    def is_published(self, year: int) -> bool:
        """Whether ``year``'s schedule comes from a published notice, not a prediction."""
        return not self.year(year).provisional

    def _load(self, year: int) -> YearSchedule:
        if year in self._covered:
            return _from_chinese_calendar(year)
        return _from_holidays(year)


def _from_chinese_calendar(year: int) -> YearSchedule:
    # The library keys its tables by date and names holidays by its English enum value.
    names = {holiday.value: holiday.chinese for holiday in chinese_calendar.Holiday}

    def table(source: dict[date, str]) -> dict[date, str]:
        return {day: names.get(name, name) for day, name in source.items() if day.year == year}

    return YearSchedule(
        year=year,
        holidays=table(chinese_calendar.holidays),
        workdays=table(chinese_calendar.workdays),
        source=DaySource.CHINESE_CALENDAR,
        provisional=False,
    )


def _from_holidays(year: int) -> YearSchedule:
    # Populate the next year too: a notice may put a make-up day in late December.
    china = country_holidays("CN", years=(year, year + 1), language="zh_CN")
    days_off = {day: str(name) for day, name in china.items() if day.year == year}
    workdays = {day: "调休上班" for day in china.weekend_workdays if day.year == year}
    # The library lists make-up days only for years whose notice it ships.
    published = bool(workdays)
    return YearSchedule(
        year=year,
        holidays=days_off,
        workdays=workdays,
        source=DaySource.HOLIDAYS_PUBLISHED if published else DaySource.HOLIDAYS_PREDICTION,
        provisional=not published,
    )


@cache
def default_prc_source() -> LibraryPrcHolidays:
    """The process-wide library source (its per-year tables are immutable once loaded)."""
    return LibraryPrcHolidays()
