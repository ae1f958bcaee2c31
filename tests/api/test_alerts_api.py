"""Alerts, occurrences, maintenance windows and the dead-man status over the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from itsm_core.audit.models import AuditEntry
from itsm_core.people.roles import Role
from itsm_core.settings import Settings
from itsm_core.timeutil import utcnow
from tests.alerting.intake.helpers import (
    T0,
    Estate,
    alert,
    build_estate,
    minutes,
    refired,
    resolved,
    run,
)
from tests.conftest import TokenFactory


@pytest.fixture
def estate(sessions: sessionmaker[Session]) -> Estate:
    return build_estate(sessions)


@pytest.fixture
def reader(auth: TokenFactory) -> dict[str, str]:
    return auth(Role.VIEWER)


def test_list_filters_and_pages(
    client: TestClient,
    reader: dict[str, str],
    sessions: sessionmaker[Session],
    settings: Settings,
    estate: Estate,
) -> None:
    cpu = alert("cpu", instance="pacs-01:9100", name="CPU")
    run(
        sessions,
        settings,
        [cpu, alert("lost", instance="nowhere:1"), alert("r", instance="10.20.0.1")],
        T0,
    )
    run(sessions, settings, [resolved(cpu, T0 + minutes(1))], T0 + minutes(1))

    def names(**params: str | int | bool) -> list[str]:
        response = client.get("/api/v1/alerts", params=params, headers=reader)
        assert response.status_code == 200, response.text
        return [a["fingerprint"] for a in response.json()["items"]]

    assert names() == ["r", "lost", "cpu"]
    assert names(status="firing") == ["r", "lost"]
    assert names(unbound=True) == ["lost"]
    assert names(unbound=False) == ["r", "cpu"]
    assert names(ci_id=estate.pacs) == ["cpu"]
    assert names(source="generic") == []
    page = client.get("/api/v1/alerts", params={"limit": 2}, headers=reader).json()
    assert len(page["items"]) == 2
    assert page["next_cursor"]
    rest = client.get(
        "/api/v1/alerts", params={"limit": 2, "cursor": page["next_cursor"]}, headers=reader
    ).json()
    assert [a["fingerprint"] for a in rest["items"]] == ["cpu"]
    assert rest["next_cursor"] is None
    incident_id = page["items"][0]["incident_id"]
    assert names(incident_id=incident_id) == ["r"]
    bad = client.get("/api/v1/alerts", params={"status": "asleep"}, headers=reader)
    assert bad.status_code == 422


def test_one_alert_with_its_occurrences(
    client: TestClient,
    reader: dict[str, str],
    sessions: sessionmaker[Session],
    settings: Settings,
    estate: Estate,
) -> None:
    cpu = alert("cpu", instance="pacs-01:9100", name="CPU")
    run(sessions, settings, [cpu], T0)
    run(sessions, settings, [resolved(cpu, T0 + minutes(1))], T0 + minutes(1))
    run(sessions, settings, [refired(cpu, T0 + minutes(9))], T0 + minutes(9))
    listed = client.get("/api/v1/alerts", headers=reader).json()["items"][0]
    detail = client.get(f"/api/v1/alerts/{listed['id']}", headers=reader)
    assert detail.status_code == 200
    body = detail.json()
    assert body["occurrence_count"] == 2
    assert body["binding"] == "hostname"
    assert body["incident_number"].startswith("INC")
    assert [o["seq"] for o in body["occurrences"]] == [2, 1]
    assert body["occurrences"][1]["ended_at"] is not None
    assert client.get("/api/v1/alerts/999999", headers=reader).status_code == 404


def test_maintenance_windows_crud(
    client: TestClient,
    auth: TokenFactory,
    reader: dict[str, str],
    sessions: sessionmaker[Session],
    estate: Estate,
) -> None:
    admin = auth(Role.MANAGER)
    now = utcnow()
    body = {
        "reason": "Core switch firmware upgrade",
        "starts_at": (now - timedelta(minutes=5)).isoformat(),
        "ends_at": (now + timedelta(hours=2)).isoformat(),
        "ci_ids": [estate.switch],
        "matchers": [{"label": "severity", "op": "=~", "value": "warning|critical"}],
    }
    assert client.post("/api/v1/maintenance-windows", json=body, headers=reader).status_code == 403
    created = client.post("/api/v1/maintenance-windows", json=body, headers=admin)
    assert created.status_code == 201, created.text
    window = created.json()
    assert window["active"] is True
    assert window["ci_ids"] == [estate.switch]
    assert window["created_by"].startswith("manager")
    listed = client.get("/api/v1/maintenance-windows?active=true", headers=reader).json()
    assert [w["id"] for w in listed["items"]] == [window["id"]]
    patched = client.patch(
        f"/api/v1/maintenance-windows/{window['id']}",
        json={"ends_at": (now + timedelta(minutes=1)).isoformat(), "reason": "shorter"},
        headers=admin,
    )
    assert patched.status_code == 200
    assert patched.json()["reason"] == "shorter"
    backwards = client.patch(
        f"/api/v1/maintenance-windows/{window['id']}",
        json={"ends_at": (now - timedelta(hours=1)).isoformat()},
        headers=admin,
    )
    assert backwards.status_code == 422
    got = client.get(f"/api/v1/maintenance-windows/{window['id']}", headers=reader)
    assert got.json()["reason"] == "shorter"
    gone = client.delete(f"/api/v1/maintenance-windows/{window['id']}", headers=admin)
    assert gone.status_code == 204
    assert (
        client.get(f"/api/v1/maintenance-windows/{window['id']}", headers=reader).status_code == 404
    )
    with sessions() as s:
        actions = [e.action for e in s.query(AuditEntry).order_by(AuditEntry.id)]
        assert actions[-3:] == [
            "maintenance_window.create",
            "maintenance_window.update",
            "maintenance_window.delete",
        ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ci_ids": [], "matchers": []}, "body"),
        ({"ends_at": "2031-01-01T00:00:00+00:00"}, "body"),  # before starts_at
        ({"ci_ids": [987654]}, "ci_ids"),
        ({"matchers": [{"label": "x", "op": "=~", "value": "("}]}, "matchers.0"),
        ({"matchers": [{"label": "x", "op": "~", "value": "a"}]}, "matchers.0.op"),
        ({"starts_at": "2031-01-01T00:00:00"}, "starts_at"),  # no zone
        ({"starts_at": "0001-01-01T00:00:00+05:00"}, "starts_at"),
        ({"reason": ""}, "reason"),
    ],
)
def test_maintenance_window_validation(
    client: TestClient, auth: TokenFactory, estate: Estate, change: dict[str, object], field: str
) -> None:
    body = {
        "reason": "x",
        "starts_at": "2031-03-03T08:00:00+08:00",
        "ends_at": "2031-03-03T10:00:00+08:00",
        "ci_ids": [estate.router],
        **change,
    }
    response = client.post("/api/v1/maintenance-windows", json=body, headers=auth(Role.ADMIN))
    assert response.status_code in (404, 422), response.text
    assert any(key.startswith(field) for key in response.json()["errors"]), response.json()


def test_deadman_status(
    client: TestClient, reader: dict[str, str], sessions: sessionmaker[Session], settings: Settings
) -> None:
    before = client.get("/api/v1/alerts/deadman", headers=reader).json()
    assert before["state"] == "never_seen"
    assert before["name"] == "Watchdog"
    run(sessions, settings, [alert("wd", name="Watchdog")], utcnow())
    after = client.get("/api/v1/alerts/deadman", headers=reader).json()
    assert after["state"] == "ok"
    assert after["heartbeat_count"] == 1
    assert client.get("/api/v1/alerts/deadman").status_code == 401
