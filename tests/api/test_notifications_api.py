"""The notifications API: channels with write-only secrets, channel tests, delivery log."""

# Chinese message text uses full-width colons, commas and brackets on purpose.

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerting.notifications.dispatcher import dispatch_notifications
from itsm_core.audit.models import AuditEntry
from itsm_core.people.roles import Role
from itsm_core.settings import Settings
from itsm_core.timeutil import utcnow
from tests.alerting.notifications import factories as f
from tests.conftest import TokenFactory
from tests.itsm_core.incidents import factories as inc
from tests.peers import fixtures as peers
from tests.peers.receivers import Answer, HttpReceiver, SmtpSink

URL = "/api/v1/notifications"
# The loopback peers (fixtures), until the lead registers them for the whole suite.
http_receiver, smtp_sink = peers.http_receiver, peers.smtp_sink
Json = dict[str, Any]


@pytest.fixture
def admin(auth: TokenFactory) -> dict[str, str]:
    return auth(Role.MANAGER, "noc-manager")


def _create(client: TestClient, headers: dict[str, str], body: Json) -> Json:
    answer = client.post(f"{URL}/channels", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    result: Json = answer.json()
    return result


def _wecom_body(endpoint: str, **extra: Any) -> Json:
    return {
        "kind": "wecom",
        "name": "网络组企业微信群",
        "language": "zh",
        "config": {"endpoint": endpoint},
        "secret": {"key": f.WECOM_KEY},
        **extra,
    }


def test_channels_keep_their_secrets_write_only(
    client: TestClient,
    admin: dict[str, str],
    auth: TokenFactory,
    sessions: sessionmaker[Session],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    viewer = auth(Role.VIEWER)
    created = _create(client, admin, _wecom_body("http://127.0.0.1:9", events=["escalated"]))
    mail = _create(
        client,
        admin,
        {
            "kind": "email",
            "name": "noc mail",
            "config": {"smtp_host": "127.0.0.1", "smtp_port": 2525, "to": ["noc@hospital.example"]},
            "secret": {"username": "alerts", "password": f.SMTP_PASSWORD},
        },
    )
    assert created["secret_fields"] == ["key"]
    assert created["config"] == {"endpoint": "http://127.0.0.1:9", "mention_recipients": True}
    assert created["events"] == ["escalated"]
    assert mail["secret_fields"] == ["password", "username"]
    assert mail["language"] == "zh"  # [notifications] default_language

    listed = client.get(f"{URL}/channels", headers=viewer)
    one = client.get(f"{URL}/channels/{created['id']}", headers=viewer)
    patched = client.patch(
        f"{URL}/channels/{created['id']}",
        json={"secret": {"key": "rotated-key-0001"}, "enabled": False},
        headers=admin,
    )
    assert (listed.status_code, one.status_code, patched.status_code) == (200, 200, 200)
    assert [c["name"] for c in listed.json()] == ["网络组企业微信群", "noc mail"]
    assert patched.json()["enabled"] is False
    with sessions() as session:
        audit = " ".join(
            f"{e.before} {e.after}"
            for e in session.scalars(
                select(AuditEntry).where(AuditEntry.entity_type == "notification_channel")
            )
        )
    assert "secret_fields" in audit
    for secret in (f.WECOM_KEY, "rotated-key-0001", f.SMTP_PASSWORD):
        for text in (listed.text, one.text, patched.text, caplog.text, audit):
            assert secret not in text

    assert client.delete(f"{URL}/channels/{created['id']}", headers=admin).status_code == 204
    assert client.get(f"{URL}/channels/{created['id']}", headers=viewer).status_code == 404
    assert (
        client.post(f"{URL}/channels", json=_wecom_body("http://x"), headers=viewer).status_code
        == 403
    )


def test_bad_channels_are_refused_without_echoing_secrets(
    client: TestClient, admin: dict[str, str]
) -> None:
    bad_key = "not a key; DROP"
    refused = client.post(
        f"{URL}/channels",
        json=_wecom_body("http://127.0.0.1:9") | {"secret": {"key": bad_key}},
        headers=admin,
    )
    assert refused.status_code == 422
    assert bad_key not in refused.text
    assert "wecom.secret.key" in refused.json()["errors"]  # the union tag leads the path

    no_one = client.post(
        f"{URL}/channels",
        json={"kind": "email", "name": "m", "config": {"notify_recipients": False}},
        headers=admin,
    )
    assert no_one.status_code == 422
    bad_url = client.post(
        f"{URL}/channels",
        json={"kind": "webhook", "name": "w", "secret": {"url": "ftp://example/x?token=abc"}},
        headers=admin,
    )
    assert bad_url.status_code == 422
    assert "token=abc" not in bad_url.text
    no_group = client.post(
        f"{URL}/channels", json=_wecom_body("http://127.0.0.1:9", group_ids=[99999]), headers=admin
    )
    assert no_group.status_code == 404
    assert no_group.json()["errors"] == {"group_ids": ["no such group"]}

    channel = _create(client, admin, _wecom_body("http://127.0.0.1:9"))
    assert (
        client.post(
            f"{URL}/channels", json=_wecom_body("http://127.0.0.1:9"), headers=admin
        ).status_code
        == 409
    )
    wrong_kind = client.patch(
        f"{URL}/channels/{channel['id']}",
        json={"config": {"smtp_host": "mail"}, "secret": {"key": "x y"}},
        headers=admin,
    )
    assert wrong_kind.status_code == 422
    assert "config.smtp_host" in wrong_kind.json()["errors"]
    null_name = client.patch(f"{URL}/channels/{channel['id']}", json={"name": None}, headers=admin)
    assert null_name.status_code == 422


def test_a_channel_test_is_queued_then_delivered_and_logged(
    client: TestClient,
    admin: dict[str, str],
    sessions: sessionmaker[Session],
    settings: Settings,
    http_receiver: HttpReceiver,
) -> None:
    channel = _create(client, admin, _wecom_body(http_receiver.url))

    queued = client.post(f"{URL}/channels/{channel['id']}/test", headers=admin)
    assert queued.status_code == 202, queued.text
    delivery = queued.json()
    assert (delivery["status"], delivery["event"], delivery["channel_name"]) == (
        "pending",
        "test",
        "网络组企业微信群",
    )
    assert http_receiver.requests == []  # the request only queued it

    assert dispatch_notifications(sessions, settings, utcnow()) == 1

    (post,) = http_receiver.wait_for(1)
    assert post.json()["text"]["content"].startswith(
        "Fulcrum 通知测试\n这是一条测试消息（通道：网络组企业微信群"
    )
    shown = client.get(f"{URL}/deliveries/{delivery['id']}", headers=admin).json()
    assert (shown["status"], shown["attempts"], shown["last_error"]) == ("sent", 1, None)
    assert [(a["number"], a["ok"]) for a in shown["attempt_log"]] == [(1, True)]


def test_the_delivery_log_filters_pages_and_retries(
    client: TestClient,
    admin: dict[str, str],
    auth: TokenFactory,
    sessions: sessionmaker[Session],
    settings: Settings,
    http_receiver: HttpReceiver,
    smtp_sink: SmtpSink,
) -> None:
    http_receiver.default = Answer(500)
    failing = _create(client, admin, _wecom_body(http_receiver.url))
    mail = _create(
        client,
        admin,
        {
            "kind": "email",
            "name": "noc mail",
            "config": {
                "smtp_host": smtp_sink.host,
                "smtp_port": smtp_sink.port,
                "to": ["noc@hospital.example"],
            },
        },
    )
    with sessions() as session, session.begin():
        incident_id = inc.incident(session).id
    for channel in (failing, mail):
        assert client.post(f"{URL}/channels/{channel['id']}/test", headers=admin).status_code == 202
    once = f.settings_with(settings, max_attempts=1)
    assert dispatch_notifications(sessions, once, utcnow()) == 1
    viewer = auth(Role.VIEWER)

    failed = client.get(f"{URL}/deliveries", params={"status": "failed"}, headers=viewer).json()
    sent = client.get(f"{URL}/deliveries", params={"channel_id": mail["id"]}, headers=viewer).json()
    first_page = client.get(f"{URL}/deliveries", params={"limit": 1}, headers=viewer).json()
    second_page = client.get(
        f"{URL}/deliveries",
        params={"limit": 1, "cursor": first_page["next_cursor"]},
        headers=viewer,
    ).json()
    none_for_incident = client.get(
        f"{URL}/deliveries", params={"incident_id": incident_id}, headers=viewer
    ).json()

    [failed_row] = failed["items"]
    assert failed_row["channel_id"] == failing["id"]
    assert "HTTP 500" in failed_row["last_error"]
    assert [r["status"] for r in sent["items"]] == ["sent"]
    assert [first_page["items"][0]["id"], second_page["items"][0]["id"]] == [
        sent["items"][0]["id"],
        failed_row["id"],
    ]
    assert second_page["next_cursor"] is None
    assert none_for_incident["items"] == []

    http_receiver.default = Answer(200)
    retried = client.post(f"{URL}/deliveries/{failed_row['id']}/retry", headers=admin)
    assert retried.status_code == 200, retried.text
    assert (retried.json()["status"], retried.json()["attempts"]) == ("pending", 0)
    assert (
        client.post(f"{URL}/deliveries/{failed_row['id']}/retry", headers=admin).status_code == 409
    )
    assert (
        client.post(f"{URL}/deliveries/{failed_row['id']}/retry", headers=viewer).status_code == 403
    )
    assert dispatch_notifications(sessions, settings, utcnow() + timedelta(seconds=1)) == 1
    shown = client.get(f"{URL}/deliveries/{failed_row['id']}", headers=viewer).json()
    assert shown["status"] == "sent"
    assert [(a["number"], a["ok"]) for a in shown["attempt_log"]] == [(1, False), (1, True)]
    assert client.get(f"{URL}/deliveries/99999", headers=viewer).status_code == 404
