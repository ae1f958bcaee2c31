"""SLA policies: validation, and which policy an incident gets (most specific wins)."""

import pytest

from itsm_core.actor import SYSTEM
from itsm_core.cmdb.classes import BUSINESS_SERVICE
from itsm_core.errors import Conflict, NotFound, ValidationFailed
from itsm_core.incidents.choices import Priority
from itsm_core.sla import service as sla
from itsm_core.sla.definition import WeekSchedule, hours
from itsm_core.sla.schemas import CalendarCreate, PolicyCreate, PolicyPatch
from tests.itsm_core.sla.stored import ci, incident, local, policy, round_the_clock

LOGGED = local(2026, 3, 2, 10)


@pytest.fixture
def calendar(session):
    return round_the_clock(session)


def create(session, calendar, **fields):
    values = {
        "name": "p",
        "priority": Priority.P2,
        "calendar_id": calendar.id,
        "time_to_own_minutes": 15,
        "time_to_resolve_minutes": 240,
    }
    return sla.create_policy(session, SYSTEM, PolicyCreate(**(values | fields)))


def test_precedence_service_and_class_then_service_then_class_then_priority(session, calendar):
    service = ci(session, BUSINESS_SERVICE, "HIS outpatient")
    server = ci(session, "vm", "his-app-01")
    generic = policy(session, calendar, Priority.P2, name="P2")
    by_class = policy(session, calendar, Priority.P2, name="P2 vm", ci_class="vm")
    by_service = policy(session, calendar, Priority.P2, name="P2 HIS", service_ci_id=service)
    both = policy(
        session, calendar, Priority.P2, name="P2 HIS vm", service_ci_id=service, ci_class="vm"
    )

    def match(**fields):
        return sla.match_policy(session, incident(session, LOGGED, Priority.P2, **fields))

    assert match(primary_ci_id=server, affected=(service,)) is both
    assert match(primary_ci_id=service) is by_service
    assert match(primary_ci_id=server) is by_class
    assert match() is generic
    assert match(primary_ci_id=ci(session, "database")) is generic


def test_between_equally_specific_policies_the_strictest_wins(session, calendar):
    his = ci(session, BUSINESS_SERVICE, "HIS")
    pacs = ci(session, BUSINESS_SERVICE, "PACS")
    policy(session, calendar, Priority.P2, name="HIS", service_ci_id=his, resolve=480)
    strict = policy(session, calendar, Priority.P2, name="PACS", service_ci_id=pacs, resolve=120)

    ticket = incident(session, LOGGED, Priority.P2, affected=(his, pacs))

    assert sla.match_policy(session, ticket) is strict


def test_other_priorities_and_inactive_policies_do_not_match(session, calendar):
    policy(session, calendar, Priority.P1, name="P1")
    create(session, calendar, name="retired", active=False)

    assert sla.match_policy(session, incident(session, LOGGED, Priority.P2)) is None


def test_two_active_policies_with_the_same_match_conflict(session, calendar):
    create(session, calendar, name="first")
    with pytest.raises(Conflict) as refused:
        create(session, calendar, name="second")
    assert "priority" in refused.value.errors
    # A retired one may share the match; so may a narrower one.
    create(session, calendar, name="old", active=False)
    create(session, calendar, name="narrower", ci_class="vm")


def test_reactivating_into_a_clash_is_refused(session, calendar):
    create(session, calendar, name="first")
    retired = create(session, calendar, name="old", active=False)
    with pytest.raises(Conflict):
        sla.update_policy(session, SYSTEM, retired, PolicyPatch(active=True))


def test_duplicate_name_conflicts(session, calendar):
    create(session, calendar, name="same")
    with pytest.raises(Conflict) as refused:
        create(session, calendar, name="same", priority=Priority.P4)
    assert refused.value.errors == {"name": ["taken"]}


@pytest.mark.parametrize(
    ("fields", "error", "field"),
    [
        ({"calendar_id": 999}, NotFound, "calendar_id"),
        ({"ci_class": "toaster"}, ValidationFailed, "ci_class"),
        ({"time_to_own_minutes": 300}, ValidationFailed, "time_to_resolve_minutes"),
    ],
)
def test_create_refuses_bad_references_keyed_by_field(session, calendar, fields, error, field):
    with pytest.raises(error) as refused:
        create(session, calendar, **fields)
    assert field in refused.value.errors


def test_service_must_be_a_business_service_ci(session, calendar):
    with pytest.raises(ValidationFailed) as refused:
        create(session, calendar, service_ci_id=ci(session, "vm"))
    assert "service_ci_id" in refused.value.errors
    with pytest.raises(NotFound) as missing:
        create(session, calendar, service_ci_id=99_999)
    assert "service_ci_id" in missing.value.errors


def test_a_target_the_calendar_never_reaches_is_refused(session):
    sparse = sla.create_calendar(
        session,
        SYSTEM,
        CalendarCreate(name="sparse", week=WeekSchedule(mon=hours("08:00-08:01"))),
    )
    with pytest.raises(ValidationFailed) as refused:
        create(session, sparse, time_to_resolve_minutes=525_600)
    assert "time_to_resolve_minutes" in refused.value.errors


def test_update_changes_only_the_fields_sent_and_clears_narrowing(session, calendar):
    made = create(session, calendar, ci_class="vm", description="servers")

    sla.update_policy(session, SYSTEM, made, PolicyPatch(ci_class=None))

    assert made.ci_class is None
    assert made.description == "servers"
    assert made.time_to_resolve_minutes == 240
