"""The SLA API: calendars, notices, days, policies, an incident's clocks, the job."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from itsm_core.incidents.choices import Priority
from itsm_core.people.roles import Role
from itsm_core.sla import service as sla
from tests.conftest import TokenFactory
from tests.itsm_core.sla.factories import unpublished_year
from tests.itsm_core.sla.stored import incident, local, national_day_notice

OFFICE_HOURS = [{"start": "08:00", "end": "17:30"}]
OFFICE = {
    "name": "office",
    "week": dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), OFFICE_HOURS),
    "use_prc_holidays": True,
}


@pytest.fixture
def admin(auth: TokenFactory) -> dict[str, str]:
    return auth(Role.ADMIN, "sla-admin")


def create_office(client: TestClient, admin: dict[str, str]) -> dict:
    response = client.post("/api/v1/sla/calendars", json=OFFICE, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()


def create_p3_policy(client: TestClient, admin: dict[str, str], calendar_id: int) -> dict:
    body = {
        "name": "P3 office hours",
        "priority": "P3",
        "calendar_id": calendar_id,
        "time_to_own_minutes": 30,
        "time_to_resolve_minutes": 480,
    }
    response = client.post("/api/v1/sla/policies", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()


def logged_incident(sessions: sessionmaker[Session], year: int) -> int:
    """A P3 logged at 17:30 on 30 September of ``year`` (the eve of National Day)."""
    logged = local(year, 9, 30, 17, 30)
    with sessions() as session, session.begin():
        ticket = incident(session, logged, Priority.P3)
        sla.sync_incident(session, ticket, logged)
        return ticket.id


def resolve_clock(client: TestClient, headers: dict[str, str], incident_id: int) -> dict:
    response = client.get(f"/api/v1/incidents/{incident_id}/sla", headers=headers)
    assert response.status_code == 200, response.text
    records = {record["metric"]: record for record in response.json()["records"]}
    return records["resolve"]


def test_scenario_6_due_after_national_day_provisional_until_the_notice(
    client: TestClient,
    admin: dict[str, str],
    auth: TokenFactory,
    sessions: sessionmaker[Session],
) -> None:
    calendar = create_office(client, admin)
    assert calendar["timezone"] == "Asia/Shanghai"
    create_p3_policy(client, admin, calendar["id"])
    viewer = auth(Role.VIEWER)

    published = resolve_clock(client, viewer, logged_incident(sessions, 2026))
    assert published["due_at_local"] == "2026-10-08T16:00:00+08:00"
    assert published["provisional"] is False

    year = unpublished_year()
    ticket = logged_incident(sessions, year)
    predicted = resolve_clock(client, viewer, ticket)
    assert predicted["provisional"] is True
    assert predicted["state"] == "running"

    notice = national_day_notice(year).model_dump(mode="json")
    response = client.post(
        f"/api/v1/sla/calendars/{calendar['id']}/notices", json=notice, headers=admin
    )
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2

    official = resolve_clock(client, viewer, ticket)
    assert official["provisional"] is False
    assert official["due_at_local"] == f"{year}-10-08T16:00:00+08:00"
    assert official["remaining_seconds"] == 8 * 3600
    events = client.get(f"/api/v1/incidents/{ticket}/sla", headers=viewer).json()["events"]
    assert [e["kind"] for e in events if e["metric"] == "resolve"] == ["started", "recalculated"]


def test_days_show_source_provisional_and_name(client: TestClient, admin: dict[str, str]) -> None:
    calendar = create_office(client, admin)
    year = unpublished_year()
    days_url = f"/api/v1/sla/calendars/{calendar['id']}/days"

    listed = client.get(
        days_url, params={"start": "2026-09-30", "end": "2026-10-10"}, headers=admin
    ).json()
    predicted = client.get(
        days_url, params={"start": f"{year}-10-04", "end": f"{year}-10-04"}, headers=admin
    ).json()

    assert listed[0] | {"intervals": None} == {
        "date": "2026-09-30",
        "weekday": 2,
        "working": True,
        "kind": "regular",
        "intervals": None,
        "source": "chinese_calendar",
        "provisional": False,
        "name": None,
    }
    assert listed[1]["kind"] == "holiday"
    assert listed[1]["working"] is False
    assert listed[1]["name"] == "国庆节"
    assert listed[-1]["kind"] == "makeup_workday"
    assert listed[-1]["intervals"] == OFFICE_HOURS
    assert predicted[0]["source"] == "holidays_prediction"
    assert predicted[0]["provisional"] is True


def test_days_range_is_capped(client: TestClient, admin: dict[str, str]) -> None:
    calendar = create_office(client, admin)
    response = client.get(
        f"/api/v1/sla/calendars/{calendar['id']}/days",
        params={"start": "2026-01-01", "end": "2027-01-05"},
        headers=admin,
    )
    assert response.status_code == 422
    assert "end" in response.json()["errors"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": "America"}, "timezone"),
        (
            {
                "week": {
                    "mon": [{"start": "08:00", "end": "12:00"}, {"start": "11:00", "end": "17:00"}]
                }
            },
            "week.mon",
        ),
        ({"week": {"mon": [{"start": "17:30", "end": "08:00"}]}}, "week.mon.0"),
        ({"week": {}}, "week"),
        ({"makeup_weekday": 6}, "makeup_weekday"),
    ],
)
def test_calendar_validation_errors_are_422_keyed_by_field(
    client: TestClient, admin: dict[str, str], change: dict, field: str
) -> None:
    response = client.post("/api/v1/sla/calendars", json=OFFICE | change, headers=admin)
    assert response.status_code == 422, response.text
    assert field in response.json()["errors"]


def test_calendar_patch_validates_and_keeps_the_rest(
    client: TestClient, admin: dict[str, str]
) -> None:
    calendar = create_office(client, admin)
    url = f"/api/v1/sla/calendars/{calendar['id']}"

    refused = client.patch(url, json={"name": None}, headers=admin)
    changed = client.patch(url, json={"description": "outpatient IT"}, headers=admin)

    assert refused.status_code == 422
    assert "name" in refused.json()["errors"]
    assert changed.json()["description"] == "outpatient IT"
    assert changed.json()["week"] == client.get(url, headers=admin).json()["week"]
    assert changed.json()["version"] == 2


def test_policy_errors_are_keyed_by_field(client: TestClient, admin: dict[str, str]) -> None:
    calendar = create_office(client, admin)
    base = {
        "name": "P2",
        "priority": "P2",
        "calendar_id": calendar["id"],
        "time_to_own_minutes": 15,
        "time_to_resolve_minutes": 240,
    }
    cases = [
        ({"calendar_id": 4242}, 404, "calendar_id"),
        ({"priority": "P9"}, 422, "priority"),
        ({"time_to_own_minutes": 0}, 422, "time_to_own_minutes"),
        ({"time_to_own_minutes": 300}, 422, "time_to_resolve_minutes"),
        ({"ci_class": "toaster"}, 422, "ci_class"),
    ]
    for change, status, field in cases:
        response = client.post("/api/v1/sla/policies", json=base | change, headers=admin)
        assert response.status_code == status, (change, response.text)
        assert field in response.json()["errors"], (change, response.text)


def test_policies_list_filter_and_patch(client: TestClient, admin: dict[str, str]) -> None:
    calendar = create_office(client, admin)
    made = create_p3_policy(client, admin, calendar["id"])

    patched = client.patch(
        f"/api/v1/sla/policies/{made['id']}", json={"active": False}, headers=admin
    ).json()
    active = client.get("/api/v1/sla/policies", params={"active": True}, headers=admin).json()
    p3 = client.get("/api/v1/sla/policies", params={"priority": "P3"}, headers=admin).json()

    assert patched["active"] is False
    assert active["items"] == []
    assert [p["id"] for p in p3["items"]] == [made["id"]]


def test_viewers_read_and_only_sla_admins_write(
    client: TestClient, admin: dict[str, str], auth: TokenFactory
) -> None:
    calendar = create_office(client, admin)
    viewer, manager = auth(Role.VIEWER), auth(Role.MANAGER)

    assert client.get("/api/v1/sla/calendars", headers=viewer).status_code == 200
    assert client.get(f"/api/v1/sla/calendars/{calendar['id']}", headers=viewer).status_code == 200
    assert client.post("/api/v1/sla/evaluate", headers=viewer).status_code == 403
    notice = {"year": 2027, "holidays": {"2027-10-01": "国庆节"}}
    url = f"/api/v1/sla/calendars/{calendar['id']}/notices"
    assert client.post(url, json=notice, headers=viewer).status_code == 403
    assert client.post(url, json=notice, headers=manager).status_code == 200


def test_evaluate_runs_the_job_and_reports_counts(
    client: TestClient, admin: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    calendar = create_office(client, admin)
    create_p3_policy(client, admin, calendar["id"])
    ticket = logged_incident(sessions, 2026)  # long overdue by now

    first = client.post("/api/v1/sla/evaluate", headers=admin)
    second = client.post("/api/v1/sla/evaluate", headers=admin)

    assert first.status_code == 200
    assert first.json() == {"warnings": 0, "breaches": 2, "resynced": 0}
    assert second.json() == {"warnings": 0, "breaches": 0, "resynced": 0}
    clock = resolve_clock(client, admin, ticket)
    assert clock["state"] == "breached"
    assert clock["remaining_seconds"] < 0


def test_unknown_incident_and_calendar_are_404(client: TestClient, admin: dict[str, str]) -> None:
    assert client.get("/api/v1/incidents/77/sla", headers=admin).status_code == 404
    response = client.get(
        "/api/v1/sla/calendars/77/days",
        params={"start": date(2026, 1, 1).isoformat(), "end": "2026-01-02"},
        headers=admin,
    )
    assert response.status_code == 404
