"""The incidents API: create, list and filter, edit, lifecycle, assignment, notes, links."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from itsm_core.actor import SYSTEM
from itsm_core.cmdb.choices import Criticality, RelationType
from itsm_core.cmdb.classes import BUSINESS_SERVICE
from itsm_core.cmdb.models import CIRelationship, ConfigurationItem
from itsm_core.incidents.models import Incident
from itsm_core.people import service as people
from itsm_core.people.roles import Role
from itsm_core.settings import Settings
from tests.conftest import TokenFactory

URL = "/api/v1/incidents"
Json = dict[str, Any]


@pytest.fixture
def desk(auth: TokenFactory) -> dict[str, str]:
    return auth(Role.SERVICE_DESK, "desk")


def _post(client: TestClient, headers: dict[str, str], **body: Any) -> Json:
    body.setdefault("title", "HIS login slow in the outpatient hall")
    r = client.post(URL, json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def _group(sessions: sessionmaker[Session], name: str, *members: str) -> int:
    with sessions() as s, s.begin():
        group = people.create_group(s, SYSTEM, name)
        for username in members:
            user = people.find_user(s, username) or people.create_user(s, SYSTEM, username)
            people.add_member(s, SYSTEM, group, user)
        return group.id


def _user_id(sessions: sessionmaker[Session], username: str) -> int:
    with sessions() as s:
        user = people.find_user(s, username)
        assert user is not None
        return user.id


def _ci(sessions: sessionmaker[Session], name: str, ci_class: str = "vm", **kw: Any) -> int:
    with sessions() as s, s.begin():
        item = ConfigurationItem(name=name, ci_class=ci_class, **kw)
        s.add(item)
        s.flush()
        return item.id


def _error(r: Any, status: int, kind: str) -> Json:
    assert r.status_code == status, r.text
    body: Json = r.json()
    assert body["type"] == kind
    assert set(body) == {"type", "title", "detail", "errors", "request_id"}
    return body


# --- create and read -------------------------------------------------------------------


def test_create_computes_priority_and_numbers_the_incident(
    client: TestClient, desk: dict[str, str]
) -> None:
    body = _post(client, desk, impact="high", urgency="high", source="phone", kind="incident")
    assert body["priority"] == "P1"
    assert body["number"] == f"INC{body['id']:06d}"
    assert body["state"] == "new"
    assert body["created_by"] == "desk"
    assert body["allowed_transitions"] == sorted(
        ["assigned", "in_progress", "resolved", "cancelled"]
    )
    got = client.get(f"{URL}/{body['id']}", headers=desk).json()
    assert got == body


def test_create_with_an_override_and_a_reason(client: TestClient, desk: dict[str, str]) -> None:
    body = _post(
        client, desk, impact="low", urgency="low", priority="P2", priority_reason="ICU terminal"
    )
    assert (body["priority"], body["priority_override_reason"]) == ("P2", "ICU terminal")


def test_override_without_a_reason_is_keyed_by_field(
    client: TestClient, desk: dict[str, str]
) -> None:
    r = client.post(URL, json={"title": "x", "priority": "P1"}, headers=desk)
    body = _error(r, 422, "validation_error")
    assert list(body["errors"]) == ["priority_reason"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "x", "impact": "huge"}, "impact"),
        ({"title": "x", "source": "fax"}, "source"),
        ({"title": "x", "kind": "rant"}, "kind"),
        ({"title": "x", "assignee_id": 0}, "assignee_id"),
        ({"title": "x", "affected_ci_ids": [2**31]}, "affected_ci_ids.0"),
        ({"title": "x", "state": "closed"}, "state"),
        ({}, "title"),
    ],
)
def test_bad_create_input_is_422_keyed_by_field(
    client: TestClient, desk: dict[str, str], payload: Json, field: str
) -> None:
    body = _error(client.post(URL, json=payload, headers=desk), 422, "validation_error")
    assert field in body["errors"]


@pytest.mark.parametrize(
    "field",
    [
        "assignment_group_id",
        "assignee_id",
        "first_responsible_id",
        "second_responsible_id",
        "primary_ci_id",
    ],
)
def test_unknown_references_are_404_keyed_by_field(
    client: TestClient, desk: dict[str, str], field: str
) -> None:
    r = client.post(URL, json={"title": "x", field: 4242}, headers=desk)
    body = _error(r, 404, "not_found")
    assert field in body["errors"]


def test_unknown_incident_is_404(client: TestClient, desk: dict[str, str]) -> None:
    body = _error(client.get(f"{URL}/77", headers=desk), 404, "not_found")
    assert "INC000077" in body["detail"]
    assert body["request_id"]


def test_out_of_range_ids_are_422(client: TestClient, desk: dict[str, str]) -> None:
    _error(client.get(f"{URL}/{2**31}", headers=desk), 422, "validation_error")
    _error(client.get(f"{URL}/0", headers=desk), 422, "validation_error")


def test_create_with_a_group_and_member(
    client: TestClient, desk: dict[str, str], auth: TokenFactory, sessions: sessionmaker[Session]
) -> None:
    auth(Role.ENGINEER, "alice")
    network = _group(sessions, "network", "alice")
    alice = _user_id(sessions, "alice")
    body = _post(client, desk, assignment_group_id=network, assignee_id=alice)
    assert body["state"] == "assigned"
    assert (body["assignment_group_id"], body["assignee_id"]) == (network, alice)
    assert body["assigned_at"] is not None


def test_custom_priority_matrix_from_settings(
    settings: Settings, engine: Engine, auth: TokenFactory
) -> None:
    custom = Settings(
        {
            "database": {"url": settings.database.url.get_secret_value()},
            "incidents": {"priority_matrix": {"medium": {"medium": "P2"}}},
        }
    )
    with TestClient(create_app(custom, engine)) as client:
        desk = auth(Role.SERVICE_DESK)
        assert client.get(f"{URL}/priority-matrix", headers=desk).json()["medium"] == {
            "high": "P2",
            "medium": "P2",
            "low": "P4",
        }
        assert _post(client, desk)["priority"] == "P2"


def test_default_priority_matrix_endpoint(client: TestClient, desk: dict[str, str]) -> None:
    table = client.get(f"{URL}/priority-matrix", headers=desk).json()
    assert table == {
        "high": {"high": "P1", "medium": "P2", "low": "P3"},
        "medium": {"high": "P2", "medium": "P3", "low": "P4"},
        "low": {"high": "P3", "medium": "P4", "low": "P5"},
    }


# --- permissions -----------------------------------------------------------------------


def test_viewers_read_but_do_not_write(
    client: TestClient, desk: dict[str, str], auth: TokenFactory
) -> None:
    incident = _post(client, desk)
    viewer = auth(Role.VIEWER)
    assert client.get(f"{URL}/{incident['id']}", headers=viewer).status_code == 200
    assert client.get(URL, headers=viewer).status_code == 200
    _error(client.post(URL, json={"title": "x"}, headers=viewer), 403, "forbidden")
    r = client.post(f"{URL}/{incident['id']}/notes", json={"body": "x"}, headers=viewer)
    _error(r, 403, "forbidden")


def test_no_token_is_401(client: TestClient) -> None:
    _error(client.get(URL), 401, "unauthorized")


# --- list, filters, pagination ---------------------------------------------------------


def _ids(client: TestClient, headers: dict[str, str], **params: Any) -> list[int]:
    r = client.get(URL, params=params, headers=headers)
    assert r.status_code == 200, r.text
    return [i["id"] for i in r.json()["items"]]


def test_pages_through_everything_newest_first(client: TestClient, desk: dict[str, str]) -> None:
    made = [_post(client, desk, title=f"t{i}")["id"] for i in range(7)]
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: Json = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get(URL, params=params, headers=desk).json()
        seen += [i["id"] for i in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(made, reverse=True)
    assert pages == 3


def test_filters(
    client: TestClient, desk: dict[str, str], auth: TokenFactory, sessions: sessionmaker[Session]
) -> None:
    auth(Role.ENGINEER, "alice")
    network = _group(sessions, "network", "alice")
    systems = _group(sessions, "systems")
    alice = _user_id(sessions, "alice")
    router, pacs = _ci(sessions, "tw-router", "network_device"), _ci(sessions, "pacs-01")

    a = _post(client, desk, title="Router down in Xinhe", impact="high", urgency="high",
              source="alert", assignment_group_id=network, assignee_id=alice,
              primary_ci_id=router)["id"]  # fmt: skip
    b = _post(client, desk, title="PACS slow", source="phone", kind="complaint",
              assignment_group_id=systems, affected_ci_ids=[pacs, router])["id"]  # fmt: skip
    c = _post(client, desk, title="How do I print 100% width?", kind="consultation",
              impact="low", urgency="low", source="wecom")["id"]  # fmt: skip

    assert _ids(client, desk, state="new") == [c]
    assert _ids(client, desk, state=["new", "assigned"]) == [c, b, a]
    assert _ids(client, desk, priority="P1") == [a]
    assert _ids(client, desk, priority=["P1", "P5"]) == [c, a]
    assert _ids(client, desk, kind="complaint") == [b]
    assert _ids(client, desk, source="wecom") == [c]
    assert _ids(client, desk, assignment_group_id=systems) == [b]
    assert _ids(client, desk, assignee_id=alice) == [a]
    assert _ids(client, desk, ci_id=router) == [b, a]
    assert _ids(client, desk, ci_id=pacs) == [b]
    assert _ids(client, desk, q="pacs") == [b]
    assert _ids(client, desk, q="100%") == [c]
    assert _ids(client, desk, q="_") == []
    assert _ids(client, desk, q=f"INC{a:06d}") == [a]
    assert _ids(client, desk, q="inc99999999999") == []
    assert _ids(client, desk, state="assigned", source="phone") == [b]
    assert _ids(client, desk, assignment_group_id=99999) == []


def test_created_time_range(
    client: TestClient, desk: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    old, mid, new = (_post(client, desk, title=t)["id"] for t in ("old", "mid", "new"))
    with sessions() as s, s.begin():
        for incident_id, day in ((old, 1), (mid, 2), (new, 3)):
            s.execute(
                update(Incident)
                .where(Incident.id == incident_id)
                .values(created_at=datetime(2026, 10, day, 9, tzinfo=UTC))
            )
    params = {"created_after": "2026-10-02T00:00:00+08:00", "created_before": "2026-10-03T00:00Z"}
    assert _ids(client, desk, **params) == [mid]
    assert _ids(client, desk, created_after="2026-10-02T09:00:00Z") == [new, mid]
    assert _ids(client, desk, created_before="2026-10-02T09:00:00Z") == [old]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"state": "open"}, "state"),
        ({"priority": "P0"}, "priority"),
        ({"created_after": "2026-10-02T00:00:00"}, "created_after"),
        ({"created_before": "yesterday"}, "created_before"),
        ({"created_after": "0001-01-01T00:00:00+14:00"}, "created_after"),
        ({"created_before": "9999-12-31T23:59:59-14:00"}, "created_before"),
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"cursor": "garbage!"}, "cursor"),
        ({"ci_id": 0}, "ci_id"),
        ({"q": ""}, "q"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_filters_are_422_keyed_by_field(
    client: TestClient, desk: dict[str, str], params: Json, field: str
) -> None:
    r = client.get(URL, params=params, headers=desk)
    assert r.status_code == 422, r.text
    body = r.json()
    assert any(key == field or key.startswith(f"{field}.") for key in body["errors"]), body


# --- edit ------------------------------------------------------------------------------


def test_patch_recomputes_priority_and_edits_cis(
    client: TestClient, desk: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    incident = _post(client, desk)
    vm, node = _ci(sessions, "his-db-01"), _ci(sessions, "pve-node-2", "hypervisor_node")
    r = client.patch(
        f"{URL}/{incident['id']}",
        json={"impact": "high", "urgency": "high", "primary_ci_id": vm, "affected_ci_ids": [node]},
        headers=desk,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["priority"] == "P1"
    assert (body["primary_ci_id"], body["affected_ci_ids"]) == (vm, [node])
    timeline = client.get(f"{URL}/{incident['id']}/timeline", headers=desk).json()["items"]
    assert timeline[0]["kind"] == "field_change"
    assert timeline[0]["data"]["changes"]["priority"] == ["P3", "P1"]


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"title": None}, 422, "title"),
        ({"impact": None}, 422, "impact"),
        ({"priority": "P1"}, 422, "priority_reason"),
        ({"source": "phone"}, 422, "source"),
        ({"primary_ci_id": 4242}, 404, "primary_ci_id"),
        ({"affected_ci_ids": [4242]}, 404, "affected_ci_ids"),
        ({"first_responsible_id": 4242}, 404, "first_responsible_id"),
    ],
)
def test_bad_patches(
    client: TestClient, desk: dict[str, str], payload: Json, status: int, field: str
) -> None:
    incident = _post(client, desk)
    r = client.patch(f"{URL}/{incident['id']}", json=payload, headers=desk)
    assert r.status_code == status, r.text
    assert field in r.json()["errors"]


def test_patch_unknown_incident_is_404(client: TestClient, desk: dict[str, str]) -> None:
    _error(client.patch(f"{URL}/999", json={"title": "x"}, headers=desk), 404, "not_found")


# --- lifecycle -------------------------------------------------------------------------


def _move(client: TestClient, headers: dict[str, str], incident_id: int, **body: Any) -> Any:
    return client.post(f"{URL}/{incident_id}/transitions", json=body, headers=headers)


def test_a_whole_life_through_the_api(
    client: TestClient, auth: TokenFactory, desk: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    alice = auth(Role.ENGINEER, "alice")
    network = _group(sessions, "network", "alice")
    incident = _post(client, desk)
    iid = incident["id"]

    r = client.post(f"{URL}/{iid}/assign", json={"group_id": network}, headers=desk)
    assert r.json()["state"] == "assigned"
    r = client.post(f"{URL}/{iid}/accept", headers=alice)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] == "in_progress"
    assert body["assignee_id"] == _user_id(sessions, "alice")
    assert body["acknowledged_at"] is not None

    r = _move(client, alice, iid, to="pending", reason="ward PC off", pending_category="requester")
    assert (r.json()["state"], r.json()["pending_on_requester"]) == ("pending", True)
    assert _move(client, alice, iid, to="in_progress").json()["pending_reason"] is None
    r = _move(client, alice, iid, to="resolved", resolution_code="fixed", resolution_notes="ok")
    assert r.json()["resolved_at"] is not None
    r = _move(client, desk, iid, to="closed")
    assert r.json()["state"] == "closed"
    assert r.json()["allowed_transitions"] == []

    moves = client.get(
        f"{URL}/{iid}/timeline", params={"kind": "state_change"}, headers=desk
    ).json()["items"]
    assert [(m["from_state"], m["to_state"]) for m in reversed(moves)] == [
        ("new", "assigned"),
        ("assigned", "in_progress"),
        ("in_progress", "pending"),
        ("pending", "in_progress"),
        ("in_progress", "resolved"),
        ("resolved", "closed"),
    ]


def test_pending_without_a_reason_is_409_naming_the_field(
    client: TestClient, auth: TokenFactory
) -> None:
    alice = auth(Role.ENGINEER, "alice")
    incident = _post(client, alice)
    client.post(f"{URL}/{incident['id']}/accept", headers=alice)
    body = _error(_move(client, alice, incident["id"], to="pending"), 409, "invalid_transition")
    assert set(body["errors"]) == {"state", "reason"}


def test_resolve_without_notes_is_409(client: TestClient, desk: dict[str, str]) -> None:
    incident = _post(client, desk)
    r = _move(client, desk, incident["id"], to="resolved", resolution_code="fixed")
    body = _error(r, 409, "invalid_transition")
    assert "resolution_notes" in body["errors"]


def test_a_forbidden_move_is_409(client: TestClient, desk: dict[str, str]) -> None:
    incident = _post(client, desk)
    body = _error(_move(client, desk, incident["id"], to="closed"), 409, "invalid_transition")
    assert "allowed from here" in body["detail"]


def test_unknown_target_state_is_422(client: TestClient, desk: dict[str, str]) -> None:
    incident = _post(client, desk)
    _error(_move(client, desk, incident["id"], to="done"), 422, "validation_error")


def test_assign_validation(
    client: TestClient, desk: dict[str, str], auth: TokenFactory, sessions: sessionmaker[Session]
) -> None:
    auth(Role.ENGINEER, "bob")
    network = _group(sessions, "network")
    bob = _user_id(sessions, "bob")
    iid = _post(client, desk)["id"]
    r = client.post(f"{URL}/{iid}/assign", json={"group_id": network, "assignee_id": bob},
                    headers=desk)  # fmt: skip
    assert "assignee_id" in _error(r, 422, "validation_failed")["errors"]
    r = client.post(f"{URL}/{iid}/assign", json={"group_id": 4242}, headers=desk)
    assert "group_id" in _error(r, 404, "not_found")["errors"]
    r = client.post(f"{URL}/{iid}/assign", json={"assignee_id": 4242}, headers=desk)
    assert "assignee_id" in _error(r, 404, "not_found")["errors"]
    r = client.post(f"{URL}/{iid}/assign", json={}, headers=desk)
    assert "assignee_id" in _error(r, 422, "validation_error")["errors"]
    r = client.post(f"{URL}/{iid}/assign", json={"assignee_id": bob}, headers=desk)
    assert (r.json()["state"], r.json()["assignee_id"]) == ("assigned", bob)


def test_accept_outside_the_group_is_403(
    client: TestClient, desk: dict[str, str], auth: TokenFactory, sessions: sessionmaker[Session]
) -> None:
    stranger = auth(Role.ENGINEER, "stranger")
    network = _group(sessions, "network")
    iid = _post(client, desk, assignment_group_id=network)["id"]
    _error(client.post(f"{URL}/{iid}/accept", headers=stranger), 403, "forbidden")


def test_accept_unknown_incident_is_404(client: TestClient, desk: dict[str, str]) -> None:
    _error(client.post(f"{URL}/31337/accept", headers=desk), 404, "not_found")


# --- notes and timeline ----------------------------------------------------------------


def test_notes_and_timeline(client: TestClient, desk: dict[str, str]) -> None:
    iid = _post(client, desk)["id"]
    for text in ("called the ward", "asked vendor"):
        r = client.post(f"{URL}/{iid}/notes", json={"body": text}, headers=desk)
        assert r.status_code == 201, r.text
        assert (r.json()["kind"], r.json()["actor"]) == ("work_note", "desk")
    notes = client.get(f"{URL}/{iid}/notes", headers=desk).json()
    assert [n["body"] for n in notes["items"]] == ["asked vendor", "called the ward"]
    page = client.get(f"{URL}/{iid}/timeline", params={"limit": 2}, headers=desk).json()
    assert [e["kind"] for e in page["items"]] == ["work_note", "work_note"]
    rest = client.get(
        f"{URL}/{iid}/timeline", params={"cursor": page["next_cursor"]}, headers=desk
    ).json()
    assert [e["kind"] for e in rest["items"]] == ["created"]
    assert rest["next_cursor"] is None


@pytest.mark.parametrize("payload", [{"body": ""}, {"body": "   "}, {}, {"body": "x", "at": "now"}])
def test_bad_notes_are_422(client: TestClient, desk: dict[str, str], payload: Json) -> None:
    iid = _post(client, desk)["id"]
    _error(client.post(f"{URL}/{iid}/notes", json=payload, headers=desk), 422, "validation_error")


def test_notes_of_unknown_incident_are_404(client: TestClient, desk: dict[str, str]) -> None:
    _error(client.get(f"{URL}/555/notes", headers=desk), 404, "not_found")
    _error(client.get(f"{URL}/555/timeline", headers=desk), 404, "not_found")
    r = client.post(f"{URL}/555/notes", json={"body": "x"}, headers=desk)
    _error(r, 404, "not_found")


def test_bad_timeline_kind_is_422(client: TestClient, desk: dict[str, str]) -> None:
    iid = _post(client, desk)["id"]
    r = client.get(f"{URL}/{iid}/timeline", params={"kind": "gossip"}, headers=desk)
    _error(r, 422, "validation_error")


# --- parent/child and merge ------------------------------------------------------------


def test_major_incident_resolves_its_children(client: TestClient, desk: dict[str, str]) -> None:
    parent = _post(client, desk, title="Township router down")["id"]
    children = [_post(client, desk, title=f"clinic {i} offline")["id"] for i in range(3)]
    for child in children:
        r = client.post(f"{URL}/{parent}/children", json={"child_id": child}, headers=desk)
        assert r.status_code == 200, r.text
    body = client.get(f"{URL}/{parent}", headers=desk).json()
    assert (body["major"], body["child_ids"]) == (True, children)
    r = _move(client, desk, parent, to="resolved", resolution_code="fixed",
              resolution_notes="router replaced")  # fmt: skip
    assert r.status_code == 200, r.text
    for child in children:
        got = client.get(f"{URL}/{child}", headers=desk).json()
        assert (got["state"], got["resolution_code"]) == ("resolved", "resolved_with_parent")
        assert got["parent_id"] == parent
    assert _move(client, desk, parent, to="closed").status_code == 200


def test_link_errors(client: TestClient, desk: dict[str, str]) -> None:
    a, b = _post(client, desk)["id"], _post(client, desk)["id"]
    r = client.post(f"{URL}/{a}/children", json={"child_id": a}, headers=desk)
    assert "child_id" in _error(r, 422, "validation_failed")["errors"]
    r = client.post(f"{URL}/{a}/children", json={"child_id": 4242}, headers=desk)
    assert "child_id" in _error(r, 404, "not_found")["errors"]
    r = client.post(f"{URL}/4242/children", json={"child_id": a}, headers=desk)
    assert "id" in _error(r, 404, "not_found")["errors"]
    r = client.delete(f"{URL}/{a}/children/{b}", headers=desk)
    assert "child_id" in _error(r, 404, "not_found")["errors"]


def test_unlink_child(client: TestClient, desk: dict[str, str]) -> None:
    a, b = _post(client, desk)["id"], _post(client, desk)["id"]
    client.post(f"{URL}/{a}/children", json={"child_id": b}, headers=desk)
    r = client.delete(f"{URL}/{a}/children/{b}", headers=desk)
    assert r.status_code == 200, r.text
    assert r.json()["child_ids"] == []


def test_merge(client: TestClient, desk: dict[str, str], sessions: sessionmaker[Session]) -> None:
    vm = _ci(sessions, "pacs-01")
    target = _post(client, desk, title="PACS down")["id"]
    duplicate = _post(client, desk, title="PACS images not loading", primary_ci_id=vm)["id"]
    client.post(f"{URL}/{duplicate}/notes", json={"body": "radiology called"}, headers=desk)
    r = client.post(f"{URL}/{duplicate}/merge", json={"into_id": target}, headers=desk)
    assert r.status_code == 200, r.text
    assert (r.json()["id"], r.json()["primary_ci_id"]) == (target, vm)
    dup = client.get(f"{URL}/{duplicate}", headers=desk).json()
    assert (dup["state"], dup["merged_into_id"]) == ("cancelled", target)
    notes = client.get(f"{URL}/{target}/notes", headers=desk).json()["items"]
    assert [n["body"] for n in notes] == ["radiology called"]
    r = client.post(f"{URL}/{duplicate}/notes", json={"body": "late"}, headers=desk)
    _error(r, 409, "conflict")


def test_merge_errors(client: TestClient, desk: dict[str, str]) -> None:
    a = _post(client, desk)["id"]
    r = client.post(f"{URL}/{a}/merge", json={"into_id": a}, headers=desk)
    assert "into_id" in _error(r, 422, "validation_failed")["errors"]
    r = client.post(f"{URL}/{a}/merge", json={"into_id": 4242}, headers=desk)
    assert "into_id" in _error(r, 404, "not_found")["errors"]
    r = client.post(f"{URL}/{a}/merge", json={}, headers=desk)
    assert "into_id" in _error(r, 422, "validation_error")["errors"]


# --- impact ----------------------------------------------------------------------------


def test_impact_names_the_business_services_behind_the_incidents_cis(
    client: TestClient, desk: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    node = _ci(sessions, "pve-node-1", "hypervisor_node")
    vm = _ci(sessions, "emr-db-01")
    emr = _ci(sessions, "EMR", BUSINESS_SERVICE, criticality=Criticality.CLINICAL_CRITICAL)
    with sessions() as s, s.begin():
        s.add(CIRelationship(source_id=vm, target_id=node, relation=RelationType.RUNS_ON))
        s.add(CIRelationship(source_id=emr, target_id=vm, relation=RelationType.DEPENDS_ON))
    iid = _post(client, desk, primary_ci_id=node)["id"]
    r = client.get(f"{URL}/{iid}/impact", headers=desk)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ci_ids"] == [node]
    assert body["clinical_critical"] is True
    assert [(s["name"], s["path"]) for s in body["business_services"]] == [
        ("EMR", ["pve-node-1", "emr-db-01", "EMR"])
    ]
    assert {c["name"] for c in body["impacted"]} == {"emr-db-01", "EMR"}
    shallow = client.get(f"{URL}/{iid}/impact", params={"depth": 1}, headers=desk).json()
    assert shallow["business_services"] == []


def test_impact_of_an_incident_without_cis_is_empty(
    client: TestClient, desk: dict[str, str]
) -> None:
    iid = _post(client, desk)["id"]
    body = client.get(f"{URL}/{iid}/impact", headers=desk).json()
    assert (body["ci_ids"], body["business_services"], body["highest_criticality"]) == (
        [],
        [],
        None,
    )


def test_impact_depth_is_bounded(client: TestClient, desk: dict[str, str]) -> None:
    iid = _post(client, desk)["id"]
    r = client.get(f"{URL}/{iid}/impact", params={"depth": 999}, headers=desk)
    assert "depth" in _error(r, 422, "validation_error")["errors"]


def test_nul_characters_are_422_not_a_database_error(
    client: TestClient, desk: dict[str, str]
) -> None:
    r = client.post(URL, json={"title": "a\x00b"}, headers=desk)
    assert "title" in _error(r, 422, "validation_error")["errors"]
    r = client.get(URL, params={"q": "a\x00b"}, headers=desk)
    assert "q" in _error(r, 422, "validation_error")["errors"]
    iid = _post(client, desk)["id"]
    r = client.post(f"{URL}/{iid}/notes", json={"body": "\x00"}, headers=desk)
    assert "body" in _error(r, 422, "validation_error")["errors"]
    r = _move(client, desk, iid, to="cancelled", reason="dup\x00")
    assert "reason" in _error(r, 422, "validation_error")["errors"]
