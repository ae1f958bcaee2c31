"""Properties of the SLA clock over random calendars, starts, targets and pauses."""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from itsm_core.sla.calendar import BusinessCalendar
from itsm_core.sla.clock import business_elapsed, due_at, warning_at
from itsm_core.sla.definition import CalendarDefinition, WeekSchedule, WorkingInterval
from itsm_core.sla.instants import to_micros

ZONES = ["Asia/Shanghai", "Europe/Berlin", "America/Havana", "Australia/Lord_Howe", "UTC"]
MICROSECOND = timedelta(microseconds=1)


def _interval(start: int, end: int) -> WorkingInterval:
    return WorkingInterval(
        start=f"{start // 60:02d}:{start % 60:02d}", end=f"{end // 60:02d}:{end % 60:02d}"
    )


@st.composite
def day_hours(draw: st.DrawFn) -> tuple[WorkingInterval, ...]:
    bounds = sorted(draw(st.sets(st.integers(0, 48).map(lambda half: half * 30), max_size=6)))
    if len(bounds) % 2:
        bounds = bounds[:-1]
    return tuple(_interval(a, b) for a, b in zip(bounds[::2], bounds[1::2], strict=True))


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    days = draw(st.lists(day_hours(), min_size=7, max_size=7).filter(lambda week: any(week)))
    week = WeekSchedule(
        **dict(zip(["mon", "tue", "wed", "thu", "fri", "sat", "sun"], days, strict=True))
    )
    makeup = next(weekday for weekday in range(7) if days[weekday])
    definition = CalendarDefinition(
        name="random",
        timezone=draw(st.sampled_from(ZONES)),
        week=week,
        use_prc_holidays=draw(st.booleans()),
        makeup_weekday=makeup,
    )
    return BusinessCalendar(definition)


instants = st.datetimes(
    min_value=datetime(2025, 12, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
durations = st.integers(0, 120 * 3600 * 10**6).map(lambda micros: timedelta(microseconds=micros))


@st.composite
def pause_lists(draw: st.DrawFn, start: datetime) -> list[tuple[datetime, datetime | None]]:
    pauses: list[tuple[datetime, datetime | None]] = []
    for offset, length in draw(st.lists(st.tuples(durations, durations), max_size=3)):
        pause_start = start + offset - timedelta(hours=12)
        pauses.append((pause_start, pause_start + length / 10))
    if draw(st.booleans()) and pauses:
        pauses[-1] = (pauses[-1][0], None)
    return pauses


def _in_free_time(calendar: BusinessCalendar, at: datetime, pauses) -> bool:
    """True when the moment just before ``at`` is working time and not paused."""
    micros = to_micros(at)
    day = at.astimezone(calendar.zone).toordinal()
    in_span = any(
        start < micros <= end
        for ordinal in (day - 1, day)
        for start, end in calendar.plan(ordinal).spans
    )
    in_pause = any(
        to_micros(low) < micros and (high is None or micros <= to_micros(high))
        for low, high in pauses
    )
    return in_span and not in_pause


common = settings(deadline=None, max_examples=100)


@common
@given(calendar=calendars(), start=instants, first=durations, second=durations)
def test_a_longer_target_is_never_due_earlier(calendar, start, first, second):
    shorter, longer = sorted((first, second))
    early = due_at(start, shorter, calendar)
    late = due_at(start, longer, calendar)
    assert early.due is not None
    assert late.due is not None
    assert early.due <= late.due
    assert warning_at(start, longer, calendar).due <= late.due


@common
@given(calendar=calendars(), start=instants, target=durations, data=st.data())
def test_pausing_never_makes_it_due_earlier(calendar, start, target, data):
    pauses = data.draw(pause_lists(start))
    plain = due_at(start, target, calendar)
    paused = due_at(start, target, calendar, pauses)
    assert plain.due is not None
    if paused.due is None:
        assert paused.remaining > timedelta(0)
    else:
        assert paused.due >= plain.due


@common
@given(calendar=calendars(), start=instants, target=durations, data=st.data())
def test_due_is_the_first_instant_the_target_is_reached(calendar, start, target, data):
    pauses = data.draw(pause_lists(start))
    result = due_at(start, target, calendar, pauses)
    if result.due is None:
        return
    assert result.due.tzinfo is UTC
    assert business_elapsed(start, result.due, calendar, pauses) == target
    if target:
        assert _in_free_time(calendar, result.due, pauses)
        before = result.due - MICROSECOND
        assert business_elapsed(start, before, calendar, pauses) < target


@common
@given(calendar=calendars(), start=instants, target=durations)
def test_elapsed_round_trips_without_pauses(calendar, start, target):
    due = due_at(start, target, calendar).due
    assert due is not None
    assert business_elapsed(start, due, calendar) == target


@common
@given(calendar=calendars(), start=instants, lengths=st.tuples(durations, durations))
def test_elapsed_is_additive(calendar, start, lengths):
    middle = start + lengths[0]
    end = middle + lengths[1]
    whole = business_elapsed(start, end, calendar)
    assert whole == business_elapsed(start, middle, calendar) + business_elapsed(
        middle, end, calendar
    )
    assert timedelta(0) <= whole <= end - start


@common
@given(zone=st.sampled_from(ZONES), start=instants, target=durations)
def test_twenty_four_seven_due_is_start_plus_target(zone, start, target):
    calendar = BusinessCalendar(CalendarDefinition.twenty_four_seven("noc", zone))
    assert due_at(start, target, calendar).due == start + target
