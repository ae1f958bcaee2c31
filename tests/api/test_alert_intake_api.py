"""The webhook endpoints: auth, validation, idempotency, durability, 503 when the DB is down."""

from __future__ import annotations

import base64
import json
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from alerting.intake_models import Alert, WebhookDelivery
from api.app import create_app
from itsm_core import migrate
from itsm_core.actor import SYSTEM
from itsm_core.db import make_session_factory
from itsm_core.incidents.models import Incident
from itsm_core.people import service as people
from itsm_core.people.roles import Role
from itsm_core.settings import Settings
from tests.alerting.intake.helpers import (
    T0,
    alert_row,
    am_alert,
    am_payload,
    build_estate,
    count,
    minutes,
)
from tests.conftest import TokenFactory

AM = "/api/v1/webhooks/alertmanager"
GENERIC = "/api/v1/webhooks/generic"
ERROR_KEYS = {"type", "title", "detail", "errors", "request_id"}


def _secret(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def source(auth: TokenFactory) -> dict[str, str]:
    return auth(Role.ALERT_SOURCE)


def test_bearer_and_basic_auth_both_work(
    client: TestClient, source: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    build_estate(sessions)
    first = client.post(AM, json=am_payload([am_alert("NodeDown", "pacs-01:9100")]), headers=source)
    assert first.status_code == 200, first.text
    assert first.json()["new"] == 1
    assert len(first.json()["incidents_opened"]) == 1
    body = am_payload([am_alert("DiskFull", "pacs-01:9100")])
    second = client.post(AM, json=body, headers=_basic("alertmanager", _secret(source)))
    assert second.status_code == 200, second.text
    assert second.json()["incidents_joined"] == first.json()["incidents_opened"]
    # Acknowledged means committed: another session sees both alerts.
    with sessions() as s:
        assert count(s, Alert) == 2
        assert alert_row(s, am_alert("NodeDown", "pacs-01:9100")["fingerprint"]).ci_id


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer ful_not-a-token"},
        {"Authorization": "Basic " + base64.b64encode(b"alertmanager:wrong").decode()},
        {"Authorization": "Basic not-base64!"},
        {"Authorization": "Token abc"},
    ],
)
def test_missing_or_wrong_credentials_are_401(
    client: TestClient, headers: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    response = client.post(AM, json=am_payload([am_alert("NodeDown", "a:1")]), headers=headers)
    assert response.status_code == 401
    assert set(response.json()) == ERROR_KEYS
    assert response.json()["type"] == "unauthorized"
    with sessions() as s:
        assert count(s, Alert) == 0


@pytest.mark.parametrize("role", [Role.VIEWER, Role.ENGINEER])
def test_roles_without_alert_ingest_are_403(
    client: TestClient, auth: TokenFactory, role: Role
) -> None:
    headers = auth(role)
    for path, body in (
        (AM, am_payload([am_alert("X", "a:1")])),
        (GENERIC, {"alerts": [{"name": "x"}]}),
    ):
        response = client.post(path, json=body, headers=headers)
        assert response.status_code == 403
        assert response.json()["type"] == "forbidden"
    # Basic auth with a viewer's token is no different.
    response = client.post(AM, json=am_payload([]), headers=_basic("x", _secret(headers)))
    assert response.status_code == 403


def test_a_malformed_payload_is_422_with_field_errors_and_stores_nothing(
    client: TestClient, source: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    good = am_alert("NodeDown", "a:9100")
    bad = am_alert("NodeDown", "b:9100")
    bad["startsAt"] = "not a time"
    bad["status"] = "exploded"
    response = client.post(AM, json=am_payload([good, bad]), headers=source)
    assert response.status_code == 422
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["type"] == "validation_error"
    assert {"alerts.1.startsAt", "alerts.1.status"} <= set(body["errors"])
    not_json = client.post(
        AM, content=b"{not json", headers={**source, "Content-Type": "application/json"}
    )
    assert not_json.status_code == 422
    with sessions() as s:
        assert count(s, Alert) == count(s, WebhookDelivery) == count(s, Incident) == 0


def test_too_many_alerts_for_the_setting_is_422(
    settings: Settings, engine: Engine, auth: TokenFactory, sessions: sessionmaker[Session]
) -> None:
    url = settings.database.url.get_secret_value()
    small = Settings({"database": {"url": url}, "alerting": {"max_alerts_per_payload": 2}})
    with TestClient(create_app(small, engine), raise_server_exceptions=False) as client:
        alerts = [am_alert("X", f"h{i}:1") for i in range(3)]
        response = client.post(AM, json=am_payload(alerts), headers=auth(Role.ALERT_SOURCE))
    assert response.status_code == 422
    assert "alerts" in response.json()["errors"]
    with sessions() as s:
        assert count(s, Alert) == count(s, WebhookDelivery) == 0


def test_an_oversized_body_is_413(client: TestClient, source: dict[str, str]) -> None:
    alerts = [am_alert("X", f"host-{i}:9100", padding="p" * 2000) for i in range(600)]
    response = client.post(AM, json=am_payload(alerts), headers=source)
    assert response.status_code == 413
    assert response.json()["type"] == "payload_too_large"


def test_a_retried_delivery_creates_nothing_new(
    client: TestClient, source: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    build_estate(sessions)
    body = am_payload([am_alert("NodeDown", "10.20.1.1:161"), am_alert("NodeDown", "pacs-01")])
    first = client.post(AM, json=body, headers=source).json()
    assert first["duplicate_delivery"] is False
    assert len(first["incidents_opened"]) == 2
    # The same content again, even re-serialised with other whitespace and key order.
    again = client.post(
        AM,
        content=json.dumps(body, indent=2, sort_keys=True).encode(),
        headers={**source, "Content-Type": "application/json"},
    ).json()
    assert again["duplicate_delivery"] is True
    assert again["new"] == 0
    assert again["incidents_opened"] == []
    # A second Alertmanager (HA) sends the same alerts from its own URL: repeats only.
    twin = client.post(
        AM, json={**body, "externalURL": "http://alertmanager-2:9093"}, headers=source
    ).json()
    assert twin["duplicate_delivery"] is False
    assert (twin["new"], twin["repeats"], twin["incidents_opened"]) == (0, 2, [])
    with sessions() as s:
        assert count(s, Alert) == 2
        assert count(s, Incident) == 2
        assert count(s, WebhookDelivery) == 2


def test_resolution_through_the_webhook(
    client: TestClient, source: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    build_estate(sessions)
    firing = am_alert("NodeDown", "pacs-01:9100", starts=T0)
    client.post(AM, json=am_payload([firing]), headers=source)
    done = am_alert("NodeDown", "pacs-01:9100", status="resolved", starts=T0, ends=T0 + minutes(9))
    answer = client.post(AM, json=am_payload([done]), headers=source).json()
    assert answer["resolved"] == 1
    with sessions() as s:
        row = alert_row(s, firing["fingerprint"])
        assert row.status == "resolved"
        assert row.ends_at == T0 + minutes(9)


def test_generic_endpoint(
    client: TestClient, source: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    estate = build_estate(sessions)
    body = {
        "source": "zabbix",
        "alerts": [{"name": "UPSOnBattery", "severity": "high", "labels": {"ci": "pve1"}}],
    }
    answer = client.post(GENERIC, json=body, headers=source)
    assert answer.status_code == 200, answer.text
    assert answer.json()["new"] == 1
    with sessions() as s:
        row = s.scalars(select(Alert)).one()
        assert (row.source, row.severity, row.ci_id) == ("generic", "major", estate.node)
    assert client.post(GENERIC, json=body, headers=source).json()["duplicate_delivery"] is True
    bad = client.post(GENERIC, json={"alerts": [{"name": "x", "bogus": 1}]}, headers=source)
    assert bad.status_code == 422
    assert "alerts.0.bogus" in bad.json()["errors"]


# -- the database is unavailable: 503, so that Alertmanager retries ------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_postgresql_is_503() -> None:
    url = f"postgresql://fulcrum@127.0.0.1:{_closed_port()}/fulcrum?connect_timeout=2"
    app = create_app(Settings({"database": {"url": url}}))
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            response = client.post(
                AM,
                json=am_payload([am_alert("NodeDown", "a:1")]),
                headers={"Authorization": "Bearer ful_whatever"},
            )
    finally:
        app.state.engine.dispose()
    assert response.status_code == 503
    assert response.json()["type"] == "service_unavailable"
    assert response.headers["retry-after"]


@pytest.fixture
def locked_sqlite(tmp_path: Path) -> Iterator[tuple[Settings, Engine, str]]:
    """A real SQLite database whose writers give up after 0.2 s, and a token for it."""
    path = tmp_path / "fulcrum.db"
    url = f"sqlite:///{path}"
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 0.2})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA foreign_keys=ON")
        dbapi_connection.execute("PRAGMA busy_timeout=200")

    @event.listens_for(engine, "begin")
    def _immediate(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    migrate.upgrade(engine)
    with make_session_factory(engine)() as s, s.begin():
        user = people.create_user(s, SYSTEM, "am", roles={Role.ALERT_SOURCE})
        secret = people.create_token(s, SYSTEM, user, Role.ALERT_SOURCE).secret
    try:
        yield Settings({"database": {"url": url}}), engine, secret
    finally:
        engine.dispose()


def test_a_locked_database_is_503_and_the_retry_succeeds_once(
    locked_sqlite: tuple[Settings, Engine, str],
) -> None:
    settings, engine, secret = locked_sqlite
    headers = {"Authorization": f"Bearer {secret}"}
    body = am_payload([am_alert("NodeDown", "a:9100")])
    db_path = settings.database.url.get_secret_value().removeprefix("sqlite:///")
    with TestClient(create_app(settings, engine), raise_server_exceptions=False) as client:
        other_writer = sqlite3.connect(db_path, isolation_level=None)
        try:
            other_writer.execute("BEGIN IMMEDIATE")  # e.g. a long migration or a stuck job
            refused = client.post(AM, json=body, headers=headers)
        finally:
            other_writer.execute("ROLLBACK")
            other_writer.close()
        assert refused.status_code == 503, refused.text
        assert refused.headers["retry-after"]
        retried = client.post(AM, json=body, headers=headers)
        assert retried.status_code == 200
        assert retried.json()["new"] == 1
        again = client.post(AM, json=body, headers=headers)
        assert again.json()["duplicate_delivery"] is True
    with make_session_factory(engine)() as s:
        assert count(s, Alert) == 1
        assert count(s, WebhookDelivery) == 1
