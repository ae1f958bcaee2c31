"""The escalation API: policies per priority (defaults, set, reset) and incident steps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from alerting.jobs_notify import run_escalations
from itsm_core.people.roles import Role
from itsm_core.settings import Settings
from tests.conftest import TokenFactory
from tests.itsm_core.incidents import factories as inc

URL = "/api/v1/escalation-policies"


@pytest.fixture
def admin(auth: TokenFactory) -> dict[str, str]:
    return auth(Role.MANAGER, "noc-manager")


def test_every_priority_has_a_policy_in_force(client: TestClient, auth: TokenFactory) -> None:
    answer = client.get(URL, headers=auth(Role.VIEWER))
    assert answer.status_code == 200
    steps = {
        p["priority"]: (
            p["enabled"],
            p["first_after_minutes"],
            p["second_after_minutes"],
            p["management_after_minutes"],
            p["configured"],
        )
        for p in answer.json()
    }
    assert steps == {
        "P1": (True, 5, 15, 30, False),
        "P2": (True, 15, 30, 60, False),
        "P3": (True, 30, 60, 240, False),
        "P4": (True, 120, 480, None, False),
        "P5": (False, None, None, None, False),
    }


def test_set_and_reset_a_policy(
    client: TestClient,
    admin: dict[str, str],
    auth: TokenFactory,
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session, session.begin():
        on_call = inc.user(session, "oncall-li").id
        managers = inc.group(session, "managers").id
    body = {
        "first_after_minutes": 10,
        "second_after_minutes": 20,
        "management_after_minutes": 45,
        "first_responsible_id": on_call,
        "management_group_id": managers,
    }

    stored = client.put(f"{URL}/P2", json=body, headers=admin)
    assert stored.status_code == 200, stored.text
    assert stored.json() | {"updated_at": None} == body | {
        "priority": "P2",
        "enabled": True,
        "second_responsible_id": None,
        "configured": True,
        "updated_by": "noc-manager",
        "updated_at": None,
    }
    assert client.get(f"{URL}/P2", headers=auth(Role.VIEWER)).json()["first_after_minutes"] == 10
    assert client.put(f"{URL}/P2", json=body, headers=auth(Role.ENGINEER)).status_code == 403

    reset = client.delete(f"{URL}/P2", headers=admin)
    assert reset.status_code == 200
    assert (reset.json()["configured"], reset.json()["first_after_minutes"]) == (False, 15)
    assert client.get(f"{URL}/P2", headers=admin).json()["configured"] is False


def test_bad_policies_are_refused(client: TestClient, admin: dict[str, str]) -> None:
    backwards = client.put(
        f"{URL}/P1", json={"first_after_minutes": 30, "second_after_minutes": 10}, headers=admin
    )
    assert backwards.status_code == 422
    too_long = client.put(f"{URL}/P1", json={"first_after_minutes": 100_000}, headers=admin)
    assert too_long.status_code == 422
    nobody = client.put(f"{URL}/P1", json={"first_responsible_id": 99999}, headers=admin)
    assert nobody.status_code == 404
    assert nobody.json()["errors"] == {"first_responsible_id": ["no such user"]}
    no_group = client.put(f"{URL}/P1", json={"management_group_id": 99999}, headers=admin)
    assert no_group.json()["errors"] == {"management_group_id": ["no such group"]}
    assert client.get(f"{URL}/P9", headers=admin).status_code == 422


def test_an_incidents_escalation_steps_are_listed(
    client: TestClient,
    auth: TokenFactory,
    sessions: sessionmaker[Session],
    settings: Settings,
) -> None:
    with sessions() as session, session.begin():
        incident = inc.incident(session, impact="high", urgency="high")
        incident_id, created = incident.id, incident.created_at
    assert run_escalations(sessions, settings, created + timedelta(minutes=16)) == 2
    viewer = auth(Role.VIEWER)

    fired = client.get(
        f"{URL}/escalations", params={"incident_id": incident_id, "state": "fired"}, headers=viewer
    ).json()
    armed = client.get(f"{URL}/escalations", params={"state": "armed"}, headers=viewer).json()

    assert [(s["level"], s["after_minutes"]) for s in fired["items"]] == [
        ("second_responsible", 15),
        ("first_responsible", 5),
    ]
    assert fired["items"][0]["incident_number"] == f"INC{incident_id:06d}"
    assert [(s["level"], s["state"]) for s in armed["items"]] == [("management", "armed")]
