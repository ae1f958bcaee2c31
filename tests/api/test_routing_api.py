"""/api/v1/routing-rules: rules CRUD and order, contingency plans, the dry-run; validation
answers 422 keyed by field in the one error shape; reading needs alert:read, writing
alert:admin."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from itsm_core.actor import SYSTEM
from itsm_core.cmdb import service as cmdb
from itsm_core.people import service as people
from itsm_core.people.roles import Role
from tests.conftest import TokenFactory

BASE = "/api/v1/routing-rules"


@pytest.fixture
def admin(auth: TokenFactory) -> dict[str, str]:
    return auth(Role.MANAGER)


@pytest.fixture
def refs(sessions: sessionmaker[Session]) -> dict[str, int]:
    """A group, two engineers and a township site with a router, committed."""
    with sessions() as s, s.begin():
        group = people.create_group(s, SYSTEM, "network")
        first = people.create_user(s, SYSTEM, "net.wang")
        second = people.create_user(s, SYSTEM, "net.zhao")
        site = cmdb.create_ci(
            s,
            SYSTEM,
            {"class": "site", "name": "城关镇卫生院", "attributes": {"kind": "township_hospital"}},
        )
        router = cmdb.create_ci(
            s, SYSTEM, {"class": "network_device", "name": "rt-01", "site_id": site.id}
        )
        return {
            "group": group.id,
            "first": first.id,
            "second": second.id,
            "site": site.id,
            "router": router.id,
        }


def _create(client: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post(BASE, json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _assert_error(response: Any, status: int, *fields: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"type", "title", "detail", "errors", "request_id"}
    for field in fields:
        assert field in body["errors"], body
    return body


def test_rule_crud(client: TestClient, admin: dict[str, str], refs: dict[str, int]) -> None:
    created = _create(
        client,
        admin,
        name="township-router-down",
        matchers=[{"label": "alertname", "op": "=~", "value": "Device(Down|Unreachable)"}],
        severities=["critical", "major"],
        ci_classes=["network_device"],
        site_ids=[refs["site"]],
        site_kinds=["township_hospital"],
        fault_type="network.township-link",
        assignment_group_id=refs["group"],
        first_responsible_id=refs["first"],
        second_responsible_id=refs["second"],
        urgency="high",
        auto_resolve=True,
    )
    assert created["position"] == 1
    assert created["matchers"] == [
        {"label": "alertname", "op": "=~", "value": "Device(Down|Unreachable)"}
    ]
    rule_id = created["id"]

    assert client.get(f"{BASE}/{rule_id}", headers=admin).json() == created
    patched = client.patch(
        f"{BASE}/{rule_id}", json={"urgency": None, "enabled": False}, headers=admin
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["urgency"] is None
    assert patched.json()["enabled"] is False
    assert patched.json()["assignment_group_id"] == refs["group"]

    listed = client.get(BASE, headers=admin)
    assert [r["id"] for r in listed.json()] == [rule_id]

    assert client.delete(f"{BASE}/{rule_id}", headers=admin).status_code == 204
    _assert_error(client.get(f"{BASE}/{rule_id}", headers=admin), 404)
    _assert_error(client.delete(f"{BASE}/{rule_id}", headers=admin), 404)


def test_reorder(client: TestClient, admin: dict[str, str]) -> None:
    ids = [_create(client, admin, name=name)["id"] for name in ("a", "b", "c")]

    response = client.put(f"{BASE}/order", json={"rule_ids": ids[::-1]}, headers=admin)

    assert response.status_code == 200, response.text
    assert [(r["name"], r["position"]) for r in response.json()] == [("c", 1), ("b", 2), ("a", 3)]
    assert [r["name"] for r in client.get(BASE, headers=admin).json()] == ["c", "b", "a"]
    _assert_error(
        client.put(f"{BASE}/order", json={"rule_ids": ids[:2]}, headers=admin), 422, "rule_ids"
    )
    moved = client.patch(f"{BASE}/{ids[0]}", json={"position": 1}, headers=admin)
    assert moved.json()["position"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "r", "assignment_group_id": 9999}, "assignment_group_id"),
        ({"name": "r", "first_responsible_id": 9999}, "first_responsible_id"),
        ({"name": "r", "contingency_plan_id": 9999}, "contingency_plan_id"),
        ({"name": "r", "site_ids": [9999]}, "site_ids"),
        ({"name": "r", "ci_classes": ["toaster"]}, "ci_classes"),
        ({"name": "r", "matchers": [{"label": "x", "op": "=~", "value": "("}]}, "matchers.0.value"),
        ({"name": "r", "matchers": [{"label": "bad-name", "value": "x"}]}, "matchers.0.label"),
        ({"name": "r", "matchers": [{"label": "x", "op": "~"}]}, "matchers.0.op"),
        ({"name": "r", "matchers": [{"label": "x", "value": "v" * 1001}]}, "matchers.0.value"),
        ({"name": "r", "severities": ["urgent"]}, "severities.0"),
        ({"name": "r", "site_kinds": ["moon"]}, "site_kinds.0"),
        ({"name": "r", "urgency": "soon"}, "urgency"),
        ({"name": "r" * 101}, "name"),
        ({"name": " padded "}, "name"),
        ({"name": "r", "description": "nul \x00"}, "description"),
        ({"name": "r", "second_responsible_id": 1}, "second_responsible_id"),
        ({"name": "r", "position": 0}, "position"),
        ({"name": "r", "colour": "red"}, "colour"),
        ({}, "name"),
    ],
)
def test_create_validation_is_422_keyed_by_field(
    client: TestClient, admin: dict[str, str], body: dict[str, Any], field: str
) -> None:
    body = _assert_error(client.post(BASE, json=body, headers=admin), 422, field)
    assert body["type"] in {"validation_error", "validation_failed"}
    assert client.get(BASE, headers=admin).json() == []


def test_patch_validation(client: TestClient, admin: dict[str, str], refs: dict[str, int]) -> None:
    rule = _create(
        client,
        admin,
        name="r",
        first_responsible_id=refs["first"],
        second_responsible_id=refs["second"],
    )
    url = f"{BASE}/{rule['id']}"
    _assert_error(client.patch(url, json={"name": None}, headers=admin), 422, "name")
    _assert_error(client.patch(url, json={"matchers": None}, headers=admin), 422, "matchers")
    _assert_error(
        client.patch(url, json={"first_responsible_id": None}, headers=admin),
        422,
        "second_responsible_id",
    )
    _assert_error(
        client.patch(url, json={"assignment_group_id": 9999}, headers=admin),
        422,
        "assignment_group_id",
    )
    _create(client, admin, name="taken")
    _assert_error(client.patch(url, json={"name": "taken"}, headers=admin), 409, "name")
    assert client.get(url, headers=admin).json()["name"] == "r"


def test_duplicate_names_conflict(client: TestClient, admin: dict[str, str]) -> None:
    _create(client, admin, name="same")
    _assert_error(client.post(BASE, json={"name": "same"}, headers=admin), 409, "name")


def test_plans_crud_and_a_plan_in_use_is_kept(client: TestClient, admin: dict[str, str]) -> None:
    response = client.post(
        f"{BASE}/plans",
        json={"name": "pacs-storage-full", "title": "PACS 存储预案", "steps": "1. 清理\n2. 扩容"},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    plan = response.json()
    rule = _create(client, admin, name="pacs", contingency_plan_id=plan["id"])

    assert client.get(f"{BASE}/plans", headers=admin).json() == [plan]
    assert client.get(f"{BASE}/plans/{plan['id']}", headers=admin).json() == plan
    renamed = client.patch(f"{BASE}/plans/{plan['id']}", json={"title": "新标题"}, headers=admin)
    assert renamed.json()["title"] == "新标题"
    _assert_error(
        client.patch(f"{BASE}/plans/{plan['id']}", json={"title": None}, headers=admin),
        422,
        "title",
    )
    _assert_error(
        client.post(
            f"{BASE}/plans", json={"name": "pacs-storage-full", "title": "x"}, headers=admin
        ),
        409,
        "name",
    )
    _assert_error(client.delete(f"{BASE}/plans/{plan['id']}", headers=admin), 409)

    client.delete(f"{BASE}/{rule['id']}", headers=admin)
    assert client.delete(f"{BASE}/plans/{plan['id']}", headers=admin).status_code == 204
    _assert_error(client.get(f"{BASE}/plans/{plan['id']}", headers=admin), 404)


def test_dry_run(client: TestClient, admin: dict[str, str], refs: dict[str, int]) -> None:
    skipped = _create(client, admin, name="test-env", matchers=[{"label": "env", "value": "test"}])
    township = _create(
        client,
        admin,
        name="township",
        ci_classes=["network_device"],
        site_kinds=["township_hospital"],
        assignment_group_id=refs["group"],
    )
    body = {"labels": {"alertname": "DeviceDown"}, "severity": "critical", "ci_id": refs["router"]}

    response = client.post(f"{BASE}/test", json=body, headers=admin)

    assert response.status_code == 200, response.text
    result = response.json()
    assert result["decision"]["rule_id"] == township["id"]
    assert result["decision"]["assignment_group_id"] == refs["group"]
    assert result["decision"]["urgency"] == "high"
    assert [(s["rule_id"], s["matched"]) for s in result["trace"]] == [
        (skipped["id"], False),
        (township["id"], True),
    ]
    assert "env" in result["trace"][0]["reason"]

    no_ci = client.post(f"{BASE}/test", json={"labels": {}}, headers=admin).json()
    assert no_ci["decision"]["rule_id"] is None
    assert no_ci["decision"]["urgency"] == "medium"  # warning by default
    _assert_error(client.post(f"{BASE}/test", json={"ci_id": 99999}, headers=admin), 422, "ci_id")
    _assert_error(
        client.post(f"{BASE}/test", json={"labels": {"bad-label": "x"}}, headers=admin), 422
    )


@pytest.mark.parametrize(
    ("role", "can_write"),
    [
        (Role.VIEWER, False),
        (Role.ENGINEER, False),
        (Role.SERVICE_DESK, False),
        (Role.MANAGER, True),
        (Role.ADMIN, True),
    ],
)
def test_permissions(
    client: TestClient, auth: TokenFactory, admin: dict[str, str], role: Role, can_write: bool
) -> None:
    rule = _create(client, admin, name="existing")
    headers = auth(role)

    assert client.get(BASE, headers=headers).status_code == 200
    assert client.get(f"{BASE}/{rule['id']}", headers=headers).status_code == 200
    assert client.get(f"{BASE}/plans", headers=headers).status_code == 200
    assert client.post(f"{BASE}/test", json={}, headers=headers).status_code == 200
    created = client.post(BASE, json={"name": f"new-{role}"}, headers=headers)
    order = [rule["id"], *([created.json()["id"]] if created.status_code == 201 else [])]
    writes = [
        created,
        client.patch(f"{BASE}/{rule['id']}", json={"enabled": False}, headers=headers),
        client.put(f"{BASE}/order", json={"rule_ids": order[::-1]}, headers=headers),
        client.post(f"{BASE}/plans", json={"name": f"p-{role}", "title": "t"}, headers=headers),
    ]
    expected = [201, 200, 200, 201] if can_write else [403] * 4
    assert [w.status_code for w in writes] == expected
    if not can_write:
        _assert_error(client.delete(f"{BASE}/{rule['id']}", headers=headers), 403)


def test_alert_sources_and_anonymous_callers_are_refused(
    client: TestClient, auth: TokenFactory
) -> None:
    _assert_error(client.get(BASE), 401)
    _assert_error(client.get(BASE, headers=auth(Role.ALERT_SOURCE)), 403)
