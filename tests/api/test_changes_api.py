"""The changes API: RFC lifecycle, CAB votes, templates, conflicts, calendar, error shapes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from itsm_core.actor import SYSTEM
from itsm_core.cmdb.choices import Criticality
from itsm_core.cmdb.models import ConfigurationItem
from itsm_core.people import service as people
from itsm_core.people.roles import Role
from tests.conftest import TokenFactory

ERROR_KEYS = {"type", "title", "detail", "errors", "request_id"}
Headers = dict[str, str]


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _window(start_in_hours: float = -1, hours: float = 2) -> dict[str, str]:
    start = datetime.now(UTC) + timedelta(hours=start_in_hours)
    return {"planned_start": _iso(start), "planned_end": _iso(start + timedelta(hours=hours))}


def _ci(
    sessions: sessionmaker[Session],
    name: str,
    criticality: Criticality = Criticality.NORMAL,
    ci_class: str = "vm",
) -> int:
    with sessions() as s, s.begin():
        item = ConfigurationItem(name=name, ci_class=ci_class, criticality=criticality)
        s.add(item)
        s.flush()
        return item.id


def _group(sessions: sessionmaker[Session], name: str, *usernames: str) -> int:
    with sessions() as s, s.begin():
        group = people.find_group(s, name) or people.create_group(s, SYSTEM, name)
        for username in usernames:
            user = people.find_user(s, username)
            assert user is not None
            people.add_member(s, SYSTEM, group, user)
        return group.id


class Cast:
    """Tokens for a requester, a change manager, three CAB members and one ECAB member."""

    def __init__(self, auth: TokenFactory, sessions: sessionmaker[Session]) -> None:
        self.engineer = auth(Role.ENGINEER, "eng")
        self.manager = auth(Role.MANAGER, "boss")
        self.viewer = auth(Role.VIEWER, "watcher")
        self.cab = [auth(Role.CHANGE_APPROVER, f"cab{i}") for i in range(3)]
        self.ecab = auth(Role.CHANGE_APPROVER, "ecab0")
        self.cab_id = _group(sessions, "cab", "cab0", "cab1", "cab2")
        self.ecab_id = _group(sessions, "ecab", "ecab0")
        self.ci = _ci(sessions, "gw-vm-01")


@pytest.fixture
def cast(auth: TokenFactory, sessions: sessionmaker[Session]) -> Cast:
    return Cast(auth, sessions)


def _rfc(client: TestClient, headers: Headers, ci: int, **overrides: Any) -> dict[str, Any]:
    body = {
        "title": "Patch the telemedicine gateway",
        "implementation_plan": "apt upgrade; reboot",
        "backout_plan": "restore the snapshot",
        "ci_ids": [ci],
        "risk": "low",
        **_window(),
        **overrides,
    }
    response = client.post("/api/v1/changes", json=body, headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def _move(
    client: TestClient, headers: Headers, change_id: int, to: str, **extra: Any
) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/changes/{change_id}/transitions", json={"to": to, **extra}, headers=headers
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _vote(
    client: TestClient,
    headers: Headers,
    change_id: int,
    decision: str = "approve",
    comment: str = "",
) -> Any:
    return client.post(
        f"/api/v1/changes/{change_id}/approvals",
        json={"decision": decision, "comment": comment},
        headers=headers,
    )


def _awaiting(client: TestClient, cast: Cast, **overrides: Any) -> dict[str, Any]:
    change = _rfc(client, cast.engineer, cast.ci, **overrides)
    _move(client, cast.engineer, change["id"], "assessment")
    return _move(client, cast.engineer, change["id"], "awaiting_approval")


# --- the whole path ----------------------------------------------------------------------


def test_a_normal_change_from_rfc_to_closure(client: TestClient, cast: Cast) -> None:
    change = _rfc(client, cast.engineer, cast.ci)
    assert change["state"] == "new"
    assert change["number"] == f"CHG{change['id']:06d}"
    assert change["conflicts"] == []
    assert change["allowed_targets"] == [
        "assessment",
        "awaiting_approval",
        "cancelled",
        "scheduled",
    ]
    cid = change["id"]

    patched = client.patch(
        f"/api/v1/changes/{cid}", json={"description": "CVE-2026-1234"}, headers=cast.engineer
    )
    assert patched.status_code == 200
    assert patched.json()["description"] == "CVE-2026-1234"

    _move(client, cast.engineer, cid, "assessment")
    _move(client, cast.engineer, cid, "awaiting_approval")
    status = client.get(f"/api/v1/changes/{cid}/approvals", headers=cast.viewer).json()
    assert status["quorum_met"] is False
    assert status["requirements"] == [
        {"group_id": cast.cab_id, "group_name": "cab", "required": 1, "approved": 0, "met": False}
    ]

    voted = _vote(client, cast.cab[0], cid, comment="ok for tonight")
    assert voted.status_code == 201, voted.text
    assert voted.json()["change"]["state"] == "scheduled"
    assert voted.json()["quorum_met"] is True
    assert voted.json()["vote"]["approver_name"] == "cab0"

    _move(client, cast.engineer, cid, "implementing")
    _move(client, cast.engineer, cid, "review")
    closed = _move(
        client, cast.engineer, cid, "closed", review_outcome="successful", review_notes="done"
    )
    assert closed["state"] == "closed"
    assert closed["allowed_targets"] == []
    assert closed["actual_start"] is not None

    timeline = client.get(f"/api/v1/changes/{cid}/timeline", headers=cast.viewer).json()
    kinds = [e["kind"] for e in reversed(timeline["items"])]
    assert kinds == ["created", "updated"] + ["transition"] * 2 + ["vote"] + ["transition"] * 4
    audit = client.get(
        "/api/v1/audit", params={"entity_type": "change", "entity_id": cid}, headers=cast.manager
    ).json()["items"]
    assert [e["action"] for e in reversed(audit)] == [
        "change.create",
        "change.update",
        "change.submit",
        "change.request_approval",
        "change.vote",
        "change.approve",
        "change.start",
        "change.complete",
        "change.close",
    ]


def test_an_emergency_change_needs_one_ecab_vote(client: TestClient, cast: Cast) -> None:
    change = _rfc(client, cast.engineer, cast.ci, change_type="emergency", **_window(2))
    _move(client, cast.engineer, change["id"], "awaiting_approval")
    refused = _vote(client, cast.cab[0], change["id"])
    assert refused.status_code == 403
    assert refused.json()["errors"] == {"approver": ["not in an approver group"]}
    assert _vote(client, cast.ecab, change["id"]).json()["change"]["state"] == "scheduled"
    # The window opens in two hours, but an emergency change may start now.
    assert _move(client, cast.engineer, change["id"], "implementing")["state"] == "implementing"


def test_a_medium_risk_change_takes_two_cab_votes_and_one_vote_each(
    client: TestClient, cast: Cast
) -> None:
    change = _awaiting(client, cast, risk="medium")
    first = _vote(client, cast.cab[0], change["id"])
    assert first.json()["change"]["state"] == "awaiting_approval"
    again = _vote(client, cast.cab[0], change["id"])
    assert again.status_code == 409
    assert set(again.json()) == ERROR_KEYS
    assert _vote(client, cast.cab[1], change["id"]).json()["change"]["state"] == "scheduled"


def test_explicit_approver_groups_across_two_groups(
    client: TestClient, cast: Cast, auth: TokenFactory, sessions: sessionmaker[Session]
) -> None:
    owner = auth(Role.CHANGE_APPROVER, "emr-owner")
    owners = _group(sessions, "emr-owners", "emr-owner")
    change = _rfc(client, cast.engineer, cast.ci)
    _move(client, cast.engineer, change["id"], "assessment")
    _move(
        client,
        cast.engineer,
        change["id"],
        "awaiting_approval",
        approver_groups=[
            {"group_id": cast.cab_id, "required": 1},
            {"group_id": owners, "required": 1},
        ],
    )
    assert _vote(client, cast.cab[0], change["id"]).json()["change"]["state"] == "awaiting_approval"
    done = _vote(client, owner, change["id"]).json()
    assert done["change"]["state"] == "scheduled"
    assert [r["approved"] for r in done["requirements"]] == [1, 1]


def test_nobody_approves_their_own_request(
    client: TestClient, cast: Cast, sessions: sessionmaker[Session]
) -> None:
    _group(sessions, "cab", "boss")
    change = _rfc(client, cast.manager, cast.ci)
    _move(client, cast.manager, change["id"], "assessment")
    _move(client, cast.manager, change["id"], "awaiting_approval")
    response = _vote(client, cast.manager, change["id"])
    assert response.status_code == 403
    assert response.json()["type"] == "forbidden"
    assert "own request" in response.json()["detail"]


def test_a_rejection_needs_a_reason_and_rejects(client: TestClient, cast: Cast) -> None:
    change = _awaiting(client, cast)
    missing = _vote(client, cast.cab[0], change["id"], "reject")
    assert missing.status_code == 422
    assert "comment" in missing.json()["errors"]
    rejected = _vote(client, cast.cab[0], change["id"], "reject", "not in clinic hours")
    assert rejected.json()["change"]["state"] == "rejected"
    assert rejected.json()["change"]["state_reason"] == "not in clinic hours"
    late = _vote(client, cast.cab[1], change["id"])
    assert late.status_code == 409


# --- conflicts -----------------------------------------------------------------------------


def test_overlaps_are_warned_on_create_and_block_scheduling(client: TestClient, cast: Cast) -> None:
    first = _awaiting(client, cast)
    _vote(client, cast.cab[0], first["id"])
    second = _awaiting(client, cast)
    assert [c["number"] for c in second["conflicts"]] == [first["number"]]
    assert second["conflicts"][0]["blocking"] is True
    assert second["conflicts"][0]["shared_ci_ids"] == [cast.ci]

    blocked = _vote(client, cast.cab[1], second["id"]).json()
    assert blocked["quorum_met"] is True
    assert blocked["change"]["state"] == "awaiting_approval"
    assert [c["number"] for c in blocked["blocked_by"]] == [first["number"]]

    refused = client.post(
        f"/api/v1/changes/{second['id']}/transitions",
        json={"to": "scheduled", "force": True, "reason": "x"},
        headers=cast.engineer,
    )
    assert refused.status_code == 403
    forced = _move(
        client, cast.manager, second["id"], "scheduled", force=True, reason="same engineer"
    )
    assert forced["state"] == "scheduled"

    listed = client.get(f"/api/v1/changes/{first['id']}/conflicts", headers=cast.viewer).json()
    assert [c["number"] for c in listed] == [second["number"]]


def test_touching_windows_and_other_cis_do_not_conflict(
    client: TestClient, cast: Cast, sessions: sessionmaker[Session]
) -> None:
    start = datetime.now(UTC) + timedelta(days=1)
    first = _rfc(
        client,
        cast.engineer,
        cast.ci,
        planned_start=_iso(start),
        planned_end=_iso(start + timedelta(hours=1)),
    )
    touching = _rfc(
        client,
        cast.engineer,
        cast.ci,
        planned_start=_iso(start + timedelta(hours=1)),
        planned_end=_iso(start + timedelta(hours=2)),
    )
    elsewhere = _rfc(
        client,
        cast.engineer,
        _ci(sessions, "pacs"),
        planned_start=_iso(start),
        planned_end=_iso(start + timedelta(hours=1)),
    )
    assert touching["conflicts"] == []
    assert elsewhere["conflicts"] == []
    assert client.get(f"/api/v1/changes/{first['id']}/conflicts", headers=cast.viewer).json() == []


# --- templates -----------------------------------------------------------------------------


def _template(client: TestClient, headers: Headers, **overrides: Any) -> Any:
    body = {
        "name": "Reboot a stateless gateway VM",
        "category": "vm.reboot",
        "ci_classes": ["vm"],
        "implementation_plan": "reboot through the hypervisor API",
        "backout_plan": "start the VM",
        "default_duration_minutes": 30,
        **overrides,
    }
    return client.post("/api/v1/change-templates", json=body, headers=headers)


def test_templates_are_managed_by_change_managers(client: TestClient, cast: Cast) -> None:
    assert _template(client, cast.engineer).status_code == 403
    made = _template(client, cast.manager)
    assert made.status_code == 201, made.text
    tid = made.json()["id"]
    assert made.json()["active"] is True
    assert _template(client, cast.manager).status_code == 409
    high = _template(client, cast.manager, name="risky", default_risk="high")
    assert high.status_code == 422
    assert "default_risk" in high.json()["errors"]

    listed = client.get("/api/v1/change-templates", headers=cast.viewer).json()["items"]
    assert [t["id"] for t in listed] == [tid]
    retired = client.patch(
        f"/api/v1/change-templates/{tid}", json={"active": False}, headers=cast.manager
    )
    assert retired.json()["active"] is False
    active = client.get(
        "/api/v1/change-templates", params={"active": True}, headers=cast.viewer
    ).json()
    assert active["items"] == []
    null = client.patch(
        f"/api/v1/change-templates/{tid}", json={"name": None}, headers=cast.manager
    )
    assert null.status_code == 422
    assert client.get(f"/api/v1/change-templates/{tid}", headers=cast.viewer).status_code == 200
    assert client.get("/api/v1/change-templates/999", headers=cast.viewer).status_code == 404


def test_a_template_makes_a_pre_approved_scheduled_change(
    client: TestClient, cast: Cast, sessions: sessionmaker[Session]
) -> None:
    tid = _template(client, cast.manager).json()["id"]
    made = client.post(
        f"/api/v1/change-templates/{tid}/changes", json={"ci_ids": [cast.ci]}, headers=cast.engineer
    )
    assert made.status_code == 201, made.text
    change = made.json()
    assert change["state"] == "scheduled"
    assert change["change_type"] == "standard"
    assert change["template_id"] == tid
    timeline = client.get(f"/api/v1/changes/{change['id']}/timeline", headers=cast.viewer).json()
    assert timeline["items"][0]["kind"] == "pre_approved"

    emr = _ci(sessions, "emr-db", Criticality.CLINICAL_CRITICAL)
    refused = client.post(
        f"/api/v1/change-templates/{tid}/changes", json={"ci_ids": [emr]}, headers=cast.engineer
    )
    assert refused.status_code == 422
    assert "ci_ids" in refused.json()["errors"]

    clash = client.post(
        f"/api/v1/change-templates/{tid}/changes", json={"ci_ids": [cast.ci]}, headers=cast.engineer
    )
    assert clash.status_code == 409
    assert change["number"] in clash.json()["errors"]["conflicts"][0]


def test_standard_changes_are_not_raised_by_hand(client: TestClient, cast: Cast) -> None:
    response = client.post(
        "/api/v1/changes",
        json={"title": "sneaky", "change_type": "standard"},
        headers=cast.engineer,
    )
    assert response.status_code == 422
    assert "change_type" in response.json()["errors"]


# --- listing and the calendar -------------------------------------------------------------------


def test_list_filters_and_pages(
    client: TestClient, cast: Cast, sessions: sessionmaker[Session]
) -> None:
    pacs = _ci(sessions, "pacs")
    for i in range(3):
        _rfc(client, cast.engineer, cast.ci, title=f"gw {i}")
    _rfc(client, cast.engineer, pacs, title="pacs", change_type="emergency")
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, "ci_id": cast.ci}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/v1/changes", params=params, headers=cast.viewer).json()
        seen += [c["title"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["gw 2", "gw 1", "gw 0"]
    emergency = client.get(
        "/api/v1/changes", params={"type": "emergency"}, headers=cast.viewer
    ).json()
    assert [c["title"] for c in emergency["items"]] == ["pacs"]
    by_state = client.get(
        "/api/v1/changes", params=[("state", "new"), ("state", "closed")], headers=cast.viewer
    ).json()
    assert len(by_state["items"]) == 4
    future = client.get(
        "/api/v1/changes",
        params={"window_start": _iso(datetime.now(UTC) + timedelta(days=1))},
        headers=cast.viewer,
    ).json()
    assert future["items"] == []


def test_the_calendar(client: TestClient, cast: Cast, sessions: sessionmaker[Session]) -> None:
    pacs = _ci(sessions, "pacs")
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=7)
    for title, ci, hours, kind in (
        ("morning", cast.ci, (8, 9), "normal"),
        ("night before", cast.ci, (-2, 0), "normal"),
        ("pacs", pacs, (10, 11), "emergency"),
    ):
        _rfc(
            client,
            cast.engineer,
            ci,
            title=title,
            change_type=kind,
            planned_start=_iso(day + timedelta(hours=hours[0])),
            planned_end=_iso(day + timedelta(hours=hours[1])),
        )
    params = {"start": _iso(day), "end": _iso(day + timedelta(days=1))}
    view = client.get("/api/v1/changes/calendar", params=params, headers=cast.viewer).json()
    assert [c["title"] for c in view["items"]] == ["morning", "pacs"]
    assert view["truncated"] is False
    by_ci = client.get(
        "/api/v1/changes/calendar", params={**params, "ci_id": pacs}, headers=cast.viewer
    ).json()
    assert [c["title"] for c in by_ci["items"]] == ["pacs"]
    by_type = client.get(
        "/api/v1/changes/calendar", params={**params, "type": "normal"}, headers=cast.viewer
    ).json()
    assert [c["title"] for c in by_type["items"]] == ["morning"]
    by_state = client.get(
        "/api/v1/changes/calendar", params={**params, "state": "scheduled"}, headers=cast.viewer
    ).json()
    assert by_state["items"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "start"),
        ({"start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"}, "end"),
        ({"start": "2026-01-01T00:00:00", "end": "2026-01-02T00:00:00Z"}, "start"),
        ({"start": "2026-01-01T00:00:00Z", "end": "2028-01-01T00:00:00Z"}, "end"),
    ],
)
def test_bad_calendar_ranges_are_422(
    client: TestClient, cast: Cast, params: dict[str, str], field: str
) -> None:
    response = client.get("/api/v1/changes/calendar", params=params, headers=cast.viewer)
    assert response.status_code == 422
    assert set(response.json()) == ERROR_KEYS
    assert field in response.json()["errors"]


# --- errors and permissions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (
            {"planned_start": "2026-01-01T10:00:00", "planned_end": "2026-01-01T11:00:00Z"},
            "planned_start",
        ),
        (
            {"planned_start": "2026-01-01T10:00:00Z", "planned_end": "2026-01-01T09:00:00Z"},
            "planned_end",
        ),
        (
            {
                "planned_start": "9999-12-31T23:00:00-05:00",
                "planned_end": "9999-12-31T23:30:00-05:00",
            },
            "planned_start",
        ),
        ({"title": "a\x00b"}, "title"),
        ({"title": ""}, "title"),
        ({"ci_ids": [2**31]}, "ci_ids.0"),
        ({"ci_ids": [999]}, "ci_ids"),
        ({"risk": "extreme"}, "risk"),
        ({"state": "closed"}, "state"),
    ],
)
def test_bad_rfcs_are_422_keyed_by_field(
    client: TestClient, cast: Cast, overrides: dict[str, Any], field: str
) -> None:
    body = {"title": "t", "ci_ids": [cast.ci], **overrides}
    response = client.post("/api/v1/changes", json=body, headers=cast.engineer)
    assert response.status_code == 422, response.text
    assert set(response.json()) == ERROR_KEYS
    assert field in response.json()["errors"]


def test_a_forbidden_move_is_409_naming_what_is_allowed(client: TestClient, cast: Cast) -> None:
    change = _rfc(client, cast.engineer, cast.ci)
    response = client.post(
        f"/api/v1/changes/{change['id']}/transitions", json={"to": "closed"}, headers=cast.engineer
    )
    assert response.status_code == 409
    body = response.json()
    assert body["type"] == "invalid_transition"
    assert "allowed from here" in body["detail"]
    assert "state" in body["errors"]


def test_a_move_refused_by_a_rule_names_the_field(client: TestClient, cast: Cast) -> None:
    change = _rfc(client, cast.engineer, cast.ci)
    response = client.post(
        f"/api/v1/changes/{change['id']}/transitions",
        json={"to": "cancelled"},
        headers=cast.engineer,
    )
    assert response.status_code == 409
    assert response.json()["errors"]["reason"] == ["a reason is needed"]


def test_editing_after_assessment_is_409(client: TestClient, cast: Cast) -> None:
    change = _awaiting(client, cast)
    response = client.patch(
        f"/api/v1/changes/{change['id']}", json={"title": "changed"}, headers=cast.engineer
    )
    assert response.status_code == 409
    assert "state" in response.json()["errors"]


def test_patch_refuses_null_for_required_fields(client: TestClient, cast: Cast) -> None:
    change = _rfc(client, cast.engineer, cast.ci)
    response = client.patch(
        f"/api/v1/changes/{change['id']}", json={"title": None}, headers=cast.engineer
    )
    assert response.status_code == 422
    assert "title" in response.json()["errors"]
    cleared = client.patch(
        f"/api/v1/changes/{change['id']}",
        json={"planned_start": None, "planned_end": None},
        headers=cast.engineer,
    )
    assert cleared.status_code == 200
    assert cleared.json()["planned_start"] is None


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/changes/999",
        "/api/v1/changes/999/approvals",
        "/api/v1/changes/999/conflicts",
        "/api/v1/changes/999/timeline",
    ],
)
def test_unknown_changes_are_404(client: TestClient, cast: Cast, path: str) -> None:
    response = client.get(path, headers=cast.viewer)
    assert response.status_code == 404
    assert set(response.json()) == ERROR_KEYS


def test_who_may_do_what(client: TestClient, cast: Cast) -> None:
    change = _awaiting(client, cast)
    body = {"title": "t"}
    assert client.post("/api/v1/changes", json=body, headers=cast.viewer).status_code == 403
    assert client.post("/api/v1/changes", json=body, headers=cast.cab[0]).status_code == 403
    transition = client.post(
        f"/api/v1/changes/{change['id']}/transitions",
        json={"to": "cancelled", "reason": "x"},
        headers=cast.cab[0],
    )
    assert transition.status_code == 403
    assert _vote(client, cast.engineer, change["id"]).status_code == 403
    assert client.get("/api/v1/changes", headers=cast.viewer).status_code == 200
