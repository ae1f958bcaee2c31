"""Stored business calendars: validation keyed by field, notices, days and their sources."""

from datetime import date

import pytest
from sqlalchemy import select

from itsm_core.actor import SYSTEM
from itsm_core.audit.models import AuditEntry
from itsm_core.errors import Conflict, ValidationFailed
from itsm_core.sla import service as sla
from itsm_core.sla.choices import DayKind, DaySource
from itsm_core.sla.definition import DayOverride, OfficialNotice, WeekSchedule, hours
from itsm_core.sla.schemas import CalendarCreate, CalendarPatch
from tests.itsm_core.sla.factories import unpublished_year
from tests.itsm_core.sla.stored import national_day_notice, office_calendar, round_the_clock

OFFICE_WEEK = WeekSchedule.weekdays(hours("08:00-17:30"))


def test_a_calendar_without_a_zone_gets_the_configured_default(session):
    made = sla.create_calendar(
        session,
        SYSTEM,
        CalendarCreate(name="urumqi", week=OFFICE_WEEK),
        default_timezone="Asia/Urumqi",
    )
    assert made.parsed().timezone == "Asia/Urumqi"
    assert made.version == 1


def test_names_are_unique(session):
    round_the_clock(session, "noc")
    with pytest.raises(Conflict) as refused:
        round_the_clock(session, "noc")
    assert refused.value.errors == {"name": ["taken"]}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"week": WeekSchedule()}, "week"),
        ({"official_notices": (OfficialNotice(year=2027),)}, "use_prc_holidays"),
        ({"use_prc_holidays": True, "makeup_weekday": 6}, "makeup_weekday"),
        (
            {
                "overrides": (
                    DayOverride(day=date(2026, 5, 6), working=False),
                    DayOverride(day=date(2026, 5, 6), working=True),
                )
            },
            "overrides",
        ),
    ],
)
def test_rules_across_fields_are_refused_keyed_by_field(session, fields, field):
    data = {"name": "bad", "week": OFFICE_WEEK} | fields
    with pytest.raises(ValidationFailed) as refused:
        sla.create_calendar(session, SYSTEM, CalendarCreate(**data))
    assert field in refused.value.errors


def test_days_say_which_source_decided_and_whether_it_is_provisional(session):
    office = office_calendar(
        session, overrides=(DayOverride(day=date(2026, 11, 11), working=False, name="院庆"),)
    )
    year = unpublished_year()

    holiday = sla.day_info(office, date(2026, 10, 1))
    makeup = sla.day_info(office, date(2026, 10, 10))
    closure = sla.day_info(office, date(2026, 11, 11))
    predicted = sla.day_info(office, date(year, 10, 4))

    assert (holiday.kind, holiday.source, holiday.provisional) == (
        DayKind.HOLIDAY,
        DaySource.CHINESE_CALENDAR,
        False,
    )
    assert makeup.kind is DayKind.MAKEUP_WORKDAY
    assert makeup.is_working_day
    assert makeup.intervals == hours("08:00-17:30")
    assert (closure.source, closure.name, closure.is_working_day) == (
        DaySource.CUSTOM,
        "院庆",
        False,
    )
    assert predicted.source is DaySource.HOLIDAYS_PREDICTION
    assert predicted.provisional is True


def test_loading_a_notice_makes_its_year_official(session):
    office = office_calendar(session)
    year = unpublished_year()

    sla.load_official_notice(session, SYSTEM, office.id, national_day_notice(year))

    assert office.version == 2
    day = sla.day_info(office, date(year, 10, 6))
    assert (day.kind, day.source, day.provisional) == (
        DayKind.HOLIDAY,
        DaySource.OFFICIAL_NOTICE,
        False,
    )
    regular = sla.day_info(office, date(year, 3, 3))
    assert (regular.source, regular.provisional) == (DaySource.OFFICIAL_NOTICE, False)
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.entity_type == "sla_calendar")
    ).all()
    assert actions == ["sla_calendar.create", "sla_calendar.load_notice"]


def test_loading_a_year_again_replaces_its_notice(session):
    office = office_calendar(session)
    year = unpublished_year()
    sla.load_official_notice(session, SYSTEM, office.id, national_day_notice(year))
    corrected = OfficialNotice(year=year, holidays={date(year, 10, 1): "国庆节"})

    sla.load_official_notice(session, SYSTEM, office.id, corrected)

    assert office.parsed().official_notices == (corrected,)
    assert sla.day_info(office, date(year, 10, 6)).kind is DayKind.REGULAR


def test_a_notice_needs_a_calendar_that_follows_prc_holidays(session):
    noc = round_the_clock(session)
    with pytest.raises(ValidationFailed) as refused:
        sla.load_official_notice(session, SYSTEM, noc.id, national_day_notice(2027))
    assert "use_prc_holidays" in refused.value.errors


def test_update_bumps_the_version_and_keeps_what_was_not_sent(session):
    office = office_calendar(session, description="outpatient IT")

    sla.update_calendar(
        session, SYSTEM, office, CalendarPatch(week=WeekSchedule.weekdays(hours("08:30-17:00")))
    )

    assert office.version == 2
    assert office.description == "outpatient IT"
    assert office.parsed().use_prc_holidays is True
    assert sla.day_info(office, date(2026, 3, 2)).intervals == hours("08:30-17:00")


def test_renaming_into_a_taken_name_conflicts(session):
    round_the_clock(session, "noc")
    office = office_calendar(session)
    with pytest.raises(Conflict):
        sla.update_calendar(session, SYSTEM, office, CalendarPatch(name="noc"))


def test_days_lists_a_range_of_at_most_366_days(session):
    office = office_calendar(session)

    listed = sla.days(office, date(2026, 9, 28), date(2026, 10, 11))

    assert [d.is_working_day for d in listed] == [
        True, True, True,  # 28-30 September
        False, False, False, False, False, False, False,  # 1-7 October
        True, True, True,  # 8-10 October, the 10th a make-up Saturday
        False,
    ]  # fmt: skip
    assert len(sla.days(office, date(2028, 1, 1), date(2028, 12, 31))) == 366
    with pytest.raises(ValidationFailed):
        sla.days(office, date(2026, 1, 1), date(2027, 1, 2))
    with pytest.raises(ValidationFailed):
        sla.days(office, date(2026, 1, 2), date(2026, 1, 1))
