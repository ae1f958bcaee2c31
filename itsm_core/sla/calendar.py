"""Business calendars: the classification of each date, cached per calendar instance.

``BusinessCalendar`` wraps an immutable ``CalendarDefinition``. It classifies a date by
the first source that has something to say about it:

1. a per-calendar ``DayOverride`` (``DaySource.CUSTOM``);
2. a loaded ``OfficialNotice``: a date it lists, or any date of its year
   (``DaySource.OFFICIAL_NOTICE``);
3. with ``use_prc_holidays``, the PRC holiday source (``chinese_calendar``, then the
   ``holidays`` library's published or predicted schedule);
4. the weekly hours (``DaySource.WEEKDAY_RULE``).

Only a prediction is provisional. Results are cached, so build one ``BusinessCalendar``
per definition version and share it.
"""

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from itsm_core.sla.choices import DayKind, DaySource
from itsm_core.sla.definition import CalendarDefinition, WorkingInterval
from itsm_core.sla.holiday_sources import PrcDay, PrcHolidaySource, default_prc_source
from itsm_core.sla.instants import local_wall_to_micros


@dataclass(frozen=True, slots=True)
class DayClassification:
    """How a calendar treats one local date."""

    day: date
    kind: DayKind
    intervals: tuple[WorkingInterval, ...]
    """Local working intervals; empty on a day off."""
    source: DaySource
    provisional: bool
    """True when the day rests on a prediction that a published notice may change."""
    name: str | None = None
    """Holiday or override name, when a declaration applies."""

    @property
    def is_working_day(self) -> bool:
        """Whether the day has any working time."""
        return bool(self.intervals)


@dataclass(frozen=True, slots=True)
class DayPlan:
    """A day's working time as UTC instants, in integer epoch microseconds.

    ``spans`` are sorted, non-empty and non-touching ``[start, end)`` pairs; ``total`` is
    their summed length. This is the clock's view of a day.
    """

    spans: tuple[tuple[int, int], ...]
    total: int
    provisional: bool


class BusinessCalendar:
    """A ``CalendarDefinition`` ready for date arithmetic, with per-date caches.

    ``prc_source`` defaults to the shared library source; pass another one to pin the
    holiday data (tests, or a source backed by the database).
    """

    def __init__(
        self, definition: CalendarDefinition, *, prc_source: PrcHolidaySource | None = None
    ) -> None:
        self._definition = definition
        self._zone = ZoneInfo(definition.timezone)
        self._prc: PrcHolidaySource | None = None
        if definition.use_prc_holidays:
            self._prc = prc_source if prc_source is not None else default_prc_source()
        self._overrides = {override.day: override for override in definition.overrides}
        self._notice_years = frozenset(notice.year for notice in definition.official_notices)
        self._notice_days: dict[date, tuple[DayKind, str]] = {}
        for notice in definition.official_notices:
            for day, name in notice.holidays.items():
                self._notice_days[day] = (DayKind.HOLIDAY, name)
            for day, name in notice.workdays.items():
                self._notice_days[day] = (DayKind.MAKEUP_WORKDAY, name)
        self._classified: dict[date, DayClassification] = {}
        self._plans: dict[int, DayPlan] = {}

    @property
    def definition(self) -> CalendarDefinition:
        """The definition this calendar was built from."""
        return self._definition

    @property
    def zone(self) -> ZoneInfo:
        """The calendar's time zone; working hours are local wall-clock times in it."""
        return self._zone

    def classify(self, day: date) -> DayClassification:
        """Working day or not, its local intervals, the deciding source, provisional."""
        found = self._classified.get(day)
        if found is None:
            found = self._classified[day] = self._decide(day)
        return found

    def plan(self, ordinal: int) -> DayPlan:
        """The UTC working spans of the local date with ``date.toordinal() == ordinal``."""
        found = self._plans.get(ordinal)
        if found is None:
            found = self._plans[ordinal] = self._build_plan(date.fromordinal(ordinal))
        return found

    def _decide(self, day: date) -> DayClassification:
        override = self._overrides.get(day)
        if override is not None:
            kind = DayKind.MAKEUP_WORKDAY if override.working else DayKind.HOLIDAY
            intervals = override.intervals
            if intervals is None:
                intervals = self._makeup_hours() if override.working else ()
            return DayClassification(
                day, kind, intervals, DaySource.CUSTOM, False, override.name or None
            )
        if day in self._notice_days or day.year in self._notice_years:
            kind, name = self._notice_days.get(day, (DayKind.REGULAR, ""))
            declared = PrcDay(kind, name or None, DaySource.OFFICIAL_NOTICE, provisional=False)
            return self._apply(day, declared)
        if self._prc is not None:
            return self._apply(day, self._prc.lookup(day))
        weekly = self._definition.week.for_weekday(day.weekday())
        return DayClassification(day, DayKind.REGULAR, weekly, DaySource.WEEKDAY_RULE, False)

    def _apply(self, day: date, declared: PrcDay) -> DayClassification:
        if declared.kind is DayKind.HOLIDAY:
            intervals: tuple[WorkingInterval, ...] = ()
        elif declared.kind is DayKind.MAKEUP_WORKDAY:
            intervals = self._makeup_hours()
        else:
            intervals = self._definition.week.for_weekday(day.weekday())
        return DayClassification(
            day, declared.kind, intervals, declared.source, declared.provisional, declared.name
        )

    def _makeup_hours(self) -> tuple[WorkingInterval, ...]:
        return self._definition.week.for_weekday(self._definition.makeup_weekday)

    def _build_plan(self, day: date) -> DayPlan:
        classification = self.classify(day)
        spans: list[tuple[int, int]] = []
        for interval in classification.intervals:
            start = local_wall_to_micros(day, interval.start_minute, self._zone)
            end = local_wall_to_micros(day, interval.end_minute, self._zone)
            if end <= start:
                continue  # wholly inside a skipped DST hour
            if spans and spans[-1][1] >= start:
                # Touching intervals (12:00-13:00, 13:00-17:00) form one span.
                spans[-1] = (spans[-1][0], max(spans[-1][1], end))
            else:
                spans.append((start, end))
        total = sum(end - start for start, end in spans)
        return DayPlan(tuple(spans), total, classification.provisional)
