from fastapi.testclient import TestClient

from itsm_core.people.roles import Role
from tests.conftest import TokenFactory


def test_admin_creates_user_and_group_and_pages_through_users(
    client: TestClient, auth: TokenFactory
) -> None:
    admin = auth(Role.ADMIN, "root")
    for i in range(5):
        r = client.post(
            "/api/v1/users", json={"username": f"u{i}", "roles": ["engineer"]}, headers=admin
        )
        assert r.status_code == 201, r.text
    group = client.post("/api/v1/groups", json={"name": "network"}, headers=admin).json()
    r = client.post(f"/api/v1/groups/{group['id']}/members", json={"user_id": 2}, headers=admin)
    assert r.json()["members"] == ["u0"]

    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/users", params=params, headers=admin).json()
        seen += [u["username"] for u in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(["root", "u0", "u1", "u2", "u3", "u4"])


def test_duplicate_username_is_409(client: TestClient, auth: TokenFactory) -> None:
    admin = auth(Role.ADMIN)
    client.post("/api/v1/users", json={"username": "dup"}, headers=admin)
    r = client.post("/api/v1/users", json={"username": "dup"}, headers=admin)
    assert r.status_code == 409
    assert "username" in r.json()["errors"]


def test_viewer_cannot_create_users(client: TestClient, auth: TokenFactory) -> None:
    r = client.post("/api/v1/users", json={"username": "x"}, headers=auth(Role.VIEWER))
    assert r.status_code == 403
    assert r.json()["type"] == "forbidden"


def test_audit_log_records_and_verifies(client: TestClient, auth: TokenFactory) -> None:
    admin = auth(Role.ADMIN, "boss")
    client.post("/api/v1/users", json={"username": "new"}, headers=admin)
    entries = client.get("/api/v1/audit", params={"actor": "boss"}, headers=admin).json()["items"]
    assert [e["action"] for e in entries] == ["user.create"]
    assert client.get("/api/v1/audit/verify", headers=admin).json()["ok"] is True
