import json
from datetime import date

import pytest

from itsm_core.sla.definition import (
    CalendarDefinition,
    DayOverride,
    OfficialNotice,
    WeekSchedule,
    WorkingInterval,
    hours,
)
from tests.itsm_core.sla.factories import office_definition


def test_interval_parses_minutes_and_allows_midnight_end():
    interval = WorkingInterval.parse("22:00-24:00")
    assert (interval.start_minute, interval.end_minute) == (1320, 1440)


@pytest.mark.parametrize(
    "text", ["08:00", "17:30-08:00", "08:00-08:00", "24:00-24:00", "8:00-9:00"]
)
def test_interval_rejects_bad_text(text):
    with pytest.raises(ValueError):  # noqa: PT011 - pydantic's message is the detail
        WorkingInterval.parse(text)


def test_week_rejects_overlapping_intervals_but_allows_touching_ones():
    WeekSchedule(mon=hours("08:00-12:00", "12:00-17:00"))
    with pytest.raises(ValueError, match="must not overlap"):
        WeekSchedule(mon=hours("08:00-12:00", "11:00-17:00"))
    with pytest.raises(ValueError, match="must not overlap"):
        WeekSchedule(mon=hours("13:00-17:00", "08:00-12:00"))


def test_week_reads_by_weekday_number():
    week = WeekSchedule(sat=hours("09:00-12:00"))
    assert week.for_weekday(5) == hours("09:00-12:00")
    assert week.for_weekday(0) == ()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"week": WeekSchedule()}, "no working hours"),
        ({"use_prc_holidays": True, "makeup_weekday": 6}, "makeup_weekday 6"),
        ({"official_notices": (OfficialNotice(year=2027),)}, "use_prc_holidays"),
        (
            {"overrides": (DayOverride(day=date(2026, 5, 6), working=False),) * 2},
            "duplicate override dates",
        ),
    ],
)
def test_definition_rejects_inconsistent_data(changes, message):
    data = {"name": "x", "week": WeekSchedule.weekdays(hours("08:00-17:00"))} | changes
    with pytest.raises(ValueError, match=message):
        CalendarDefinition(**data)


def test_override_must_match_its_working_flag():
    with pytest.raises(ValueError, match="closed day"):
        DayOverride(day=date(2026, 5, 6), working=False, intervals=hours("08:00-12:00"))
    with pytest.raises(ValueError, match="needs intervals"):
        DayOverride(day=date(2026, 5, 6), working=True, intervals=())


def test_notice_rejects_a_date_both_off_and_working_and_far_dates():
    with pytest.raises(ValueError, match="both holiday and workday"):
        OfficialNotice(
            year=2027, holidays={date(2027, 1, 1): "元旦"}, workdays={date(2027, 1, 1): ""}
        )
    with pytest.raises(ValueError, match="too far"):
        OfficialNotice(year=2027, holidays={date(2029, 1, 1): "元旦"})


def test_notices_of_neighbouring_years_must_agree():
    boundary = date(2027, 12, 31)
    with pytest.raises(ValueError, match="disagree"):
        office_definition(
            notices=[
                OfficialNotice(year=2027, holidays={boundary: "元旦"}),
                OfficialNotice(year=2028, workdays={boundary: "元旦"}),
            ]
        )


def test_definition_round_trips_through_json():
    definition = office_definition(
        "08:00-12:00",
        "13:30-17:30",
        overrides=[DayOverride(day=date(2026, 6, 1), working=False, name="院庆")],
        notices=[
            OfficialNotice(
                year=2027,
                title="国务院办公厅关于2027年部分节假日安排的通知",
                holidays={date(2027, 10, 1): "国庆节"},
                workdays={date(2027, 9, 26): "国庆节"},
            )
        ],
    )
    stored = json.dumps(definition.model_dump(mode="json"), ensure_ascii=False)
    assert CalendarDefinition.model_validate(json.loads(stored)) == definition


def test_twenty_four_seven_is_round_the_clock_without_holidays():
    definition = CalendarDefinition.twenty_four_seven("noc")
    assert definition.timezone == "Asia/Shanghai"
    assert not definition.use_prc_holidays
    assert all(definition.week.for_weekday(day) == hours("00:00-24:00") for day in range(7))
