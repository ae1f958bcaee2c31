from datetime import UTC, date, datetime, timedelta

from itsm_core.sla.calendar import BusinessCalendar
from itsm_core.sla.choices import DayKind, DaySource
from itsm_core.sla.definition import (
    CalendarDefinition,
    DayOverride,
    OfficialNotice,
    WeekSchedule,
    hours,
)
from itsm_core.sla.instants import to_micros
from tests.itsm_core.sla.factories import PinnedPrcSource, office_definition, published

HOUR = 3_600_000_000  # microseconds


def test_without_prc_holidays_the_weekday_rule_decides():
    calendar = BusinessCalendar(office_definition(use_prc_holidays=False))
    national_day = calendar.classify(date(2026, 10, 1))  # a Thursday
    assert national_day.is_working_day
    assert (national_day.source, national_day.provisional) == (DaySource.WEEKDAY_RULE, False)
    assert not calendar.classify(date(2026, 10, 10)).is_working_day  # a Saturday


def test_prc_holidays_close_days_and_makeup_saturday_works():
    calendar = BusinessCalendar(office_definition())
    holiday = calendar.classify(date(2026, 10, 1))
    assert not holiday.is_working_day
    assert (holiday.kind, holiday.source, holiday.name) == (
        DayKind.HOLIDAY,
        DaySource.CHINESE_CALENDAR,
        "国庆节",
    )
    makeup = calendar.classify(date(2026, 10, 10))  # Saturday, 调休
    assert makeup.is_working_day
    assert makeup.kind is DayKind.MAKEUP_WORKDAY
    assert makeup.intervals == hours("08:00-17:30")
    regular = calendar.classify(date(2026, 10, 8))
    assert (regular.kind, regular.source, regular.provisional) == (
        DayKind.REGULAR,
        DaySource.CHINESE_CALENDAR,
        False,
    )


def test_makeup_day_follows_the_makeup_weekday_hours():
    week = WeekSchedule(
        mon=hours("08:00-17:30"),
        tue=hours("08:00-17:30"),
        wed=hours("08:00-17:30"),
        thu=hours("08:00-17:30"),
        fri=hours("08:00-16:00"),
        sat=hours("08:00-12:00"),
    )
    definition = CalendarDefinition(name="x", week=week, use_prc_holidays=True, makeup_weekday=4)
    calendar = BusinessCalendar(definition)
    assert calendar.classify(date(2026, 10, 10)).intervals == hours("08:00-16:00")
    assert calendar.classify(date(2026, 10, 17)).intervals == hours("08:00-12:00")


def test_custom_overrides_win_over_every_source():
    definition = office_definition(
        overrides=[
            DayOverride(day=date(2026, 6, 1), working=False, name="院庆"),
            DayOverride(day=date(2026, 10, 2), working=True, intervals=hours("09:00-12:00")),
            DayOverride(day=date(2026, 10, 4), working=True),
        ]
    )
    calendar = BusinessCalendar(definition)
    closure = calendar.classify(date(2026, 6, 1))  # a Monday
    assert not closure.is_working_day
    assert (closure.source, closure.name) == (DaySource.CUSTOM, "院庆")
    on_holiday = calendar.classify(date(2026, 10, 2))
    assert on_holiday.intervals == hours("09:00-12:00")
    assert on_holiday.source is DaySource.CUSTOM
    assert calendar.classify(date(2026, 10, 4)).intervals == hours("08:00-17:30")


def test_official_notice_covers_its_whole_year_and_overrides_the_source():
    # Pinned: 2026 published, 2027 only predicted (an empty prediction here).
    source = PinnedPrcSource(published(2026, {date(2026, 10, 1): "国庆节"}, {}))
    notice = OfficialNotice(
        year=2027,
        holidays={date(2027, 10, 1): "国庆节", date(2027, 10, 4): "国庆节"},
        workdays={date(2027, 9, 26): "国庆节", date(2026, 12, 26): "元旦"},
    )
    without = BusinessCalendar(office_definition(), prc_source=source)
    with_notice = BusinessCalendar(office_definition(notices=[notice]), prc_source=source)

    assert without.classify(date(2027, 10, 4)).provisional
    assert without.classify(date(2027, 10, 4)).is_working_day
    monday_off = with_notice.classify(date(2027, 10, 4))
    assert not monday_off.is_working_day
    assert (monday_off.source, monday_off.provisional) == (DaySource.OFFICIAL_NOTICE, False)
    assert with_notice.classify(date(2027, 9, 26)).is_working_day  # a Sunday
    ordinary = with_notice.classify(date(2027, 3, 10))
    assert (ordinary.kind, ordinary.source, ordinary.provisional) == (
        DayKind.REGULAR,
        DaySource.OFFICIAL_NOTICE,
        False,
    )
    # A listed date in the year before applies; the rest of that year keeps its source.
    assert with_notice.classify(date(2026, 12, 26)).kind is DayKind.MAKEUP_WORKDAY
    assert with_notice.classify(date(2026, 10, 1)).source is DaySource.CHINESE_CALENDAR


def test_classification_is_cached():
    calendar = BusinessCalendar(office_definition())
    assert calendar.classify(date(2026, 10, 1)) is calendar.classify(date(2026, 10, 1))
    ordinal = date(2026, 10, 8).toordinal()
    assert calendar.plan(ordinal) is calendar.plan(ordinal)


def test_plan_has_one_span_per_interval_in_utc_and_merges_touching_ones():
    calendar = BusinessCalendar(office_definition("08:00-12:00", "12:00-13:00", "14:00-17:30"))
    plan = calendar.plan(date(2026, 10, 8).toordinal())
    eight = to_micros(datetime(2026, 10, 8, 0, tzinfo=UTC))  # 08:00 in Shanghai
    assert plan.spans == (
        (eight, eight + 5 * HOUR),
        (eight + 6 * HOUR, eight + 9 * HOUR + HOUR // 2),
    )
    assert plan.total == 8 * HOUR + HOUR // 2
    assert not plan.provisional


def test_plan_spans_are_real_time_across_dst_changes():
    night = CalendarDefinition(
        name="night", timezone="Europe/Berlin", week=WeekSchedule.every_day(hours("00:00-06:00"))
    )
    calendar = BusinessCalendar(night)
    assert calendar.plan(date(2026, 3, 29).toordinal()).total == 5 * HOUR  # 02:00-03:00 skipped
    assert calendar.plan(date(2026, 10, 25).toordinal()).total == 7 * HOUR  # 02:00-03:00 twice
    assert calendar.plan(date(2026, 3, 30).toordinal()).total == 6 * HOUR


def test_an_interval_inside_a_skipped_hour_has_no_time():
    odd = CalendarDefinition(
        name="odd", timezone="Europe/Berlin", week=WeekSchedule.every_day(hours("02:15-02:45"))
    )
    calendar = BusinessCalendar(odd)
    assert calendar.plan(date(2026, 3, 29).toordinal()).spans == ()
    assert calendar.plan(date(2026, 3, 30).toordinal()).total == HOUR // 2


def test_a_day_starting_in_a_midnight_dst_gap_starts_at_the_shift():
    # Cuba moves its clocks from 00:00 to 01:00: that day's midnight never happens.
    calendar = BusinessCalendar(CalendarDefinition.twenty_four_seven("x", "America/Havana"))
    plan = calendar.plan(date(2026, 3, 8).toordinal())
    shift = datetime(2026, 3, 8, 5, tzinfo=UTC)
    assert plan.spans[0][0] == to_micros(shift)
    assert plan.total == 23 * HOUR
    previous = calendar.plan(date(2026, 3, 7).toordinal())
    assert previous.spans[-1][1] == plan.spans[0][0]
    assert timedelta(microseconds=previous.total) == timedelta(hours=24)
