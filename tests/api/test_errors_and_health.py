from fastapi.testclient import TestClient

from itsm_core.people.roles import Role
from tests.conftest import TokenFactory

ERROR_KEYS = {"type", "title", "detail", "errors", "request_id"}


def test_health_endpoints_need_no_token(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] == "ok"
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert 'fulcrum_http_requests_total{method="GET",route="/readyz",status="200"}' in metrics.text


def test_missing_and_bad_tokens_get_401_in_the_error_shape(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer ful_wrong"}, {"Authorization": "Basic eDp5"}):
        response = client.get("/api/v1/me", headers=headers)
        assert response.status_code == 401
        assert set(response.json()) == ERROR_KEYS
        assert response.json()["type"] == "unauthorized"


def test_unknown_route_is_a_404_in_the_error_shape(client: TestClient, auth: TokenFactory) -> None:
    response = client.get("/api/v1/nothing-here", headers=auth(Role.VIEWER))
    assert response.status_code == 404
    assert set(response.json()) == ERROR_KEYS


def test_validation_errors_are_keyed_by_field(client: TestClient, auth: TokenFactory) -> None:
    response = client.post(
        "/api/v1/users", json={"username": "", "locale": "fr", "bogus": 1}, headers=auth(Role.ADMIN)
    )
    assert response.status_code == 422
    body = response.json()
    assert {"username", "locale", "bogus"} <= set(body["errors"])


def test_request_id_is_echoed_and_reported(client: TestClient) -> None:
    response = client.get("/api/v1/me", headers={"X-Request-ID": "abc123"})
    assert response.headers["x-request-id"] == "abc123"
    assert response.json()["request_id"] == "abc123"


def test_oversized_body_is_413(client: TestClient, auth: TokenFactory) -> None:
    response = client.post(
        "/api/v1/users",
        content=b"x" * 2_000_000,
        headers={**auth(Role.ADMIN), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["type"] == "payload_too_large"


def test_bad_cursor_is_422_not_500(client: TestClient, auth: TokenFactory) -> None:
    response = client.get("/api/v1/users?cursor=!!!", headers=auth(Role.VIEWER))
    assert response.status_code == 422
    assert "cursor" in response.json()["errors"]


def test_nul_character_in_text_is_a_422_on_every_database(
    client: TestClient, auth: TokenFactory
) -> None:
    response = client.post(
        "/api/v1/groups", json={"name": "bad\u0000name"}, headers=auth(Role.ADMIN)
    )
    assert response.status_code in (201, 422)
    assert response.status_code < 500
