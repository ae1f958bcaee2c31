from datetime import UTC, date, datetime, timedelta

import pytest

from itsm_core.sla.calendar import BusinessCalendar
from itsm_core.sla.clock import DueResult, business_elapsed, due_at, warning_at
from itsm_core.sla.definition import CalendarDefinition, OfficialNotice
from tests.itsm_core.sla.factories import BERLIN, SHANGHAI, office_definition, unpublished_year

EIGHT_HOURS = timedelta(hours=8)


@pytest.fixture(scope="module")
def office() -> BusinessCalendar:
    """08:00-17:30 Mon-Fri with PRC holidays, Asia/Shanghai."""
    return BusinessCalendar(office_definition())


def local(year, month, day, hour=0, minute=0, zone=SHANGHAI):
    return datetime(year, month, day, hour, minute, tzinfo=zone)


def test_p3_logged_before_national_day_is_due_on_the_first_working_day_after(office):
    # 2026-09-30 (Wed) is the last working day before the 1-7 October holiday.
    result = due_at(local(2026, 9, 30, 17, 30), EIGHT_HOURS, office)
    assert result == DueResult(local(2026, 10, 8, 16).astimezone(UTC), provisional=False)
    assert result.due is not None
    assert result.due.tzinfo is UTC


def test_a_makeup_saturday_is_a_working_day(office):
    assert due_at(local(2026, 10, 9, 17, 30), EIGHT_HOURS, office).due == local(2026, 10, 10, 16)
    # Spring Festival: Saturday 14 February 2026 is worked.
    assert due_at(local(2026, 2, 13, 17, 30), EIGHT_HOURS, office).due == local(2026, 2, 14, 16)


def test_target_is_counted_across_the_lunch_break():
    calendar = BusinessCalendar(office_definition("08:00-12:00", "13:30-17:30"))
    assert due_at(local(2026, 10, 8, 11), timedelta(hours=2), calendar).due == local(
        2026, 10, 8, 14, 30
    )


def test_target_ending_with_the_day_is_due_at_the_end_of_the_interval(office):
    result = due_at(local(2026, 10, 8, 8), timedelta(hours=9, minutes=30), office)
    assert result.due == local(2026, 10, 8, 17, 30)


def test_start_outside_working_hours_counts_from_the_next_opening(office):
    assert due_at(local(2026, 10, 17, 10), timedelta(hours=1), office).due == local(2026, 10, 19, 9)


def test_zero_target_is_due_at_start(office):
    start = local(2026, 10, 17, 10)
    assert due_at(start, timedelta(0), office) == DueResult(start, provisional=False)


def test_unpublished_year_is_provisional_and_does_not_crash(office):
    year = unpublished_year()  # 2027 with the libraries pinned today
    result = due_at(local(year, 3, 10, 9), EIGHT_HOURS, office)
    assert result.provisional
    assert result.due == local(year, 3, 10, 17)
    assert business_elapsed(local(year, 3, 10, 9), local(year, 3, 11, 9), office) == timedelta(
        hours=9, minutes=30
    )


def test_official_notice_makes_the_year_final_and_overrides_the_prediction(office):
    year = unpublished_year()
    friday = next(date(year, 3, day) for day in range(1, 8) if date(year, 3, day).weekday() == 4)
    saturday, monday = friday + timedelta(days=1), friday + timedelta(days=3)
    start = local(friday.year, friday.month, friday.day, 17, 30)

    predicted = due_at(start, EIGHT_HOURS, office)
    assert predicted.provisional
    assert predicted.due == local(monday.year, monday.month, monday.day, 16)

    notice = OfficialNotice(year=year, holidays={monday: "示例"}, workdays={saturday: "示例"})
    official = BusinessCalendar(office_definition(notices=[notice]))
    result = due_at(start, EIGHT_HOURS, official)
    assert not result.provisional
    assert result.due == local(saturday.year, saturday.month, saturday.day, 16)


def test_twenty_four_seven_is_plain_wall_clock():
    calendar = BusinessCalendar(CalendarDefinition.twenty_four_seven("noc"))
    start = local(2026, 9, 30, 17, 30)
    target = timedelta(days=3, hours=5, microseconds=7)
    assert due_at(start, target, calendar).due == start + target
    pause = (start + timedelta(hours=1), start + timedelta(hours=3))
    assert due_at(start, target, calendar, [pause]).due == start + target + timedelta(hours=2)


def test_twenty_four_seven_counts_real_hours_across_dst():
    calendar = BusinessCalendar(CalendarDefinition.twenty_four_seven("noc", "Europe/Berlin"))
    start = local(2026, 3, 28, 12, zone=BERLIN)  # CET; clocks go forward the next night
    result = due_at(start, timedelta(hours=24), calendar)
    assert result.due == local(2026, 3, 29, 13, zone=BERLIN)  # CEST: 25 h on the wall clock
    assert result.due - start == timedelta(hours=24)  # real elapsed time (UTC arithmetic)


def test_office_hours_in_a_dst_zone():
    calendar = BusinessCalendar(
        office_definition("08:00-17:00", use_prc_holidays=False, timezone="Europe/Berlin")
    )
    friday = local(2026, 3, 27, 16, zone=BERLIN)
    result = due_at(friday, timedelta(hours=2), calendar)
    assert result.due == local(2026, 3, 30, 9, zone=BERLIN)
    assert result.due is not None
    assert result.due.astimezone(UTC).hour == 7  # CEST is UTC+2
    autumn = due_at(local(2026, 10, 23, 16, zone=BERLIN), timedelta(hours=2), calendar)
    assert autumn.due == local(2026, 10, 26, 9, zone=BERLIN)


def test_closed_pause_delays_by_its_working_overlap(office):
    start = local(2026, 10, 8, 9)
    pauses = [
        (local(2026, 10, 8, 10), local(2026, 10, 8, 11)),  # 1 h in working time
        (local(2026, 10, 8, 18), local(2026, 10, 9, 7)),  # after hours: no effect
    ]
    assert due_at(start, EIGHT_HOURS, office, pauses).due == local(2026, 10, 9, 8, 30)
    assert due_at(start, EIGHT_HOURS, office).due == local(2026, 10, 8, 17)


def test_open_pause_stops_the_clock(office):
    start = local(2026, 10, 8, 9)
    pending = [(local(2026, 10, 8, 15), None)]
    result = due_at(start, EIGHT_HOURS, office, pending)
    assert result.paused
    assert result == DueResult(None, provisional=False, remaining=timedelta(hours=2))
    # A pause opened after the target ran out leaves the due time as it was.
    late = [(local(2026, 10, 12, 9), None)]
    assert due_at(start, EIGHT_HOURS, office, late).due == local(2026, 10, 8, 17)
    # Pending since before the start: nothing has run yet.
    before = [(local(2026, 10, 7, 9), None)]
    assert due_at(start, EIGHT_HOURS, office, before).remaining == EIGHT_HOURS


def test_warning_is_at_three_quarters_of_the_target_by_default(office):
    start = local(2026, 10, 8, 8)
    assert warning_at(start, EIGHT_HOURS, office).due == local(2026, 10, 8, 14)
    assert warning_at(start, EIGHT_HOURS, office, share=0.5).due == local(2026, 10, 8, 12)


def test_business_elapsed_skips_nights_weekends_holidays_and_pauses(office):
    assert business_elapsed(local(2026, 10, 9, 16), local(2026, 10, 12, 9), office) == timedelta(
        hours=12
    )  # Fri 1.5 h + make-up Sat 9.5 h + Mon 1 h
    assert business_elapsed(local(2026, 9, 30, 17), local(2026, 10, 8, 9), office) == timedelta(
        hours=1, minutes=30
    )
    pause = [(local(2026, 10, 8, 8, 30), local(2026, 10, 8, 8, 45))]
    assert business_elapsed(
        local(2026, 10, 8, 8), local(2026, 10, 8, 9), office, pause
    ) == timedelta(minutes=45)


@pytest.mark.parametrize(
    "call",
    [
        lambda cal: due_at(datetime(2026, 10, 8, 9), EIGHT_HOURS, cal),
        lambda cal: due_at(local(2026, 10, 8), -EIGHT_HOURS, cal),
        lambda cal: due_at(local(2026, 10, 8), EIGHT_HOURS, cal, [(datetime(2026, 10, 8), None)]),
        lambda cal: due_at(
            local(2026, 10, 8, 9),
            EIGHT_HOURS,
            cal,
            [(local(2026, 10, 8, 9), local(2026, 10, 8, 8))],
        ),
        lambda cal: business_elapsed(local(2026, 10, 8, 9), local(2026, 10, 8, 8), cal),
        lambda cal: business_elapsed(local(2026, 10, 8, 9), datetime(2026, 10, 8, 10), cal),
        lambda cal: warning_at(local(2026, 10, 8), EIGHT_HOURS, cal, share=1.5),
    ],
)
def test_bad_inputs_raise_value_error(office, call):
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        call(office)


def test_unreachable_target_raises():
    calendar = BusinessCalendar(CalendarDefinition.twenty_four_seven("noc"))
    with pytest.raises(ValueError, match="not reached"):
        due_at(local(2026, 1, 1), timedelta(days=4000), calendar)
