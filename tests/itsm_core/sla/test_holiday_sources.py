from datetime import date

from itsm_core.sla.choices import DayKind, DaySource
from itsm_core.sla.holiday_sources import LibraryPrcHolidays, default_prc_source
from tests.itsm_core.sla.factories import unpublished_year


def test_chinese_calendar_gives_2026_holidays_and_makeup_days():
    source = LibraryPrcHolidays()
    schedule = source.year(2026)
    assert schedule.source is DaySource.CHINESE_CALENDAR
    assert not schedule.provisional
    # The make-up working days of the State Council's 2026 notice.
    assert sorted(schedule.workdays) == [
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
    ]
    national_day = [date(2026, 10, day) for day in range(1, 8)]
    assert all(source.lookup(day).kind is DayKind.HOLIDAY for day in national_day)
    assert source.lookup(date(2026, 10, 1)).name == "国庆节"
    assert source.lookup(date(2026, 10, 8)).kind is DayKind.REGULAR
    assert source.lookup(date(2026, 10, 10)).kind is DayKind.MAKEUP_WORKDAY


def test_an_unpublished_year_is_predicted_and_provisional():
    source = LibraryPrcHolidays()
    year = unpublished_year()
    assert year not in source.chinese_calendar_years
    new_year = source.lookup(date(year, 1, 1))
    assert new_year.kind is DayKind.HOLIDAY
    assert new_year.source is DaySource.HOLIDAYS_PREDICTION
    assert new_year.provisional
    ordinary = source.lookup(date(year, 3, 10))
    assert (ordinary.kind, ordinary.provisional) == (DayKind.REGULAR, True)
    assert not source.is_published(year)


def test_holidays_library_supplies_published_years_before_chinese_calendar():
    # chinese-calendar starts in 2004; the holidays library ships the 2002 notice,
    # whose make-up days include two in December 2001.
    source = LibraryPrcHolidays()
    assert source.is_published(2002)
    new_year_off = source.lookup(date(2002, 1, 2))
    assert (new_year_off.kind, new_year_off.source) == (
        DayKind.HOLIDAY,
        DaySource.HOLIDAYS_PUBLISHED,
    )
    assert source.lookup(date(2001, 12, 29)).kind is DayKind.MAKEUP_WORKDAY


def test_default_source_is_shared():
    assert default_prc_source() is default_prc_source()
