"""Real deliveries over loopback: each channel kind against a local peer.

The WeCom and DingTalk robots post the vendors' JSON to a capturing HTTP receiver, mail
goes to a local SMTP sink, the webhook gets apprise's JSON. Nothing is mocked: the
dispatcher claims the queued rows, apprise's plugins send them over real sockets, and
the peers' captures are compared with what the vendors document.
"""

# Chinese message text uses full-width colons, commas and brackets on purpose.

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerting.notifications.choices import DeliveryStatus, NotificationEvent
from alerting.notifications.dispatcher import dispatch_notifications
from alerting.notifications.models import DeliveryAttempt, NotificationDelivery
from alerting.notifications.outbox import notify_incident
from itsm_core.incidents.models import Incident
from itsm_core.settings import Settings
from tests.alerting.notifications import factories as f
from tests.itsm_core.incidents import factories as inc
from tests.peers.receivers import Answer, HttpReceiver, SmtpSink

NOW = datetime(2026, 11, 22, 1, 30, tzinfo=UTC)


def _escalated(session: Session) -> tuple[Incident, int]:
    """A P1 network incident and its first responsible (with a mobile and an e-mail)."""
    zhang = inc.user(session, "zhangwei")
    zhang.display_name, zhang.phone, zhang.email = (
        "张伟",
        "13800138000",
        "zhangwei@hospital.example",
    )
    network = inc.group(session, "网络组", zhang)
    incident = inc.incident(
        session,
        title="核心交换机 core-sw-01 宕机",
        impact="high",
        urgency="high",
        assignment_group_id=network.id,
        first_responsible_id=zhang.id,
    )
    return incident, zhang.id


def _queue_escalation(session: Session, incident: Incident, user_id: int) -> None:
    notify_incident(
        session,
        incident,
        NotificationEvent.ESCALATED,
        NOW,
        recipients=[user_id],
        details={"level": "first_responsible", "after_minutes": 5},
    )


def _only_delivery(session: Session) -> NotificationDelivery:
    (delivery,) = session.scalars(select(NotificationDelivery)).all()
    session.refresh(delivery)
    return delivery


def test_wecom_robot_gets_the_vendor_body_in_chinese_with_a_mention(
    sessions: sessionmaker[Session], settings: Settings, http_receiver: HttpReceiver
) -> None:
    with sessions() as session, session.begin():
        f.wecom(session, http_receiver.url, name="网络组企业微信群")
        incident, zhang = _escalated(session)
        _queue_escalation(session, incident, zhang)

    assert dispatch_notifications(sessions, settings, NOW) == 1

    (post,) = http_receiver.wait_for(1)
    assert post.method == "POST"
    assert post.path == "/cgi-bin/webhook/send"
    assert post.param("key") == f.WECOM_KEY
    assert post.headers["content-type"].startswith("application/json")
    body = post.json()
    assert body["msgtype"] == "text"
    assert body["text"]["mentioned_mobile_list"] == ["13800138000"]
    content = body["text"]["content"]
    assert content.startswith("【P1】故障升级至第一负责人：INC")
    assert "已超过 5 分钟无人受理，请 张伟 立即处理。" in content
    assert "处理组：网络组" in content
    with sessions() as session:
        delivery = _only_delivery(session)
        assert (delivery.status, delivery.attempts, delivery.sent_at) == (
            DeliveryStatus.SENT,
            1,
            NOW,
        )


def test_dingtalk_robot_is_signed_and_mentions_by_mobile(
    sessions: sessionmaker[Session], settings: Settings, http_receiver: HttpReceiver
) -> None:
    with sessions() as session, session.begin():
        f.dingtalk(session, http_receiver.url, language="en")
        incident, zhang = _escalated(session)
        _queue_escalation(session, incident, zhang)

    assert dispatch_notifications(sessions, settings, NOW) == 1

    (post,) = http_receiver.wait_for(1)
    assert post.path == "/robot/send"
    assert post.param("access_token") == f.DINGTALK_TOKEN
    # DingTalk: sign = base64(HMAC-SHA256(secret, "{timestamp}\n{secret}")), sent URL-encoded.
    timestamp, sign = post.param("timestamp"), post.param("sign")
    assert timestamp is not None
    assert timestamp.isdigit()
    expected = hmac.new(
        f.DINGTALK_SECRET.encode(), f"{timestamp}\n{f.DINGTALK_SECRET}".encode(), hashlib.sha256
    ).digest()
    assert sign == base64.b64encode(expected).decode()
    body = post.json()
    assert body["msgtype"] == "text"
    assert body["at"] == {"atMobiles": ["13800138000"], "isAtAll": False}
    assert body["text"]["content"].startswith("[P1] INC")
    assert "escalated to first responsible" in body["text"]["content"]
    assert body["text"]["content"].endswith("@13800138000")


def test_email_reaches_the_smtp_sink_with_login_and_a_chinese_subject(
    sessions: sessionmaker[Session], settings: Settings, smtp_sink: SmtpSink
) -> None:
    smtp_sink.require_login("fulcrum-alerts", f.SMTP_PASSWORD)
    with sessions() as session, session.begin():
        f.email(session, smtp_sink.host, smtp_sink.port, ["noc@hospital.example"])
        incident, zhang = _escalated(session)
        _queue_escalation(session, incident, zhang)

    assert dispatch_notifications(sessions, settings, NOW) == 1

    mails = smtp_sink.wait_for(2)
    assert sorted(r for m in mails for r in m.rcpt_to) == [
        "noc@hospital.example",
        "zhangwei@hospital.example",
    ]
    mail = mails[0]
    assert mail.login == ("fulcrum-alerts", f.SMTP_PASSWORD)
    assert mail.mail_from == "fulcrum@hospital.example"
    subject = str(mail.message["Subject"])
    assert subject.startswith("【P1】故障升级至第一负责人 INC")
    assert subject.endswith("核心交换机 core-sw-01 宕机")
    assert "已超过 5 分钟无人受理，请 张伟 立即处理。" in mail.text()


def test_webhook_gets_apprise_json_with_incident_fields(
    sessions: sessionmaker[Session], settings: Settings, http_receiver: HttpReceiver
) -> None:
    with sessions() as session, session.begin():
        f.webhook(session, f"{http_receiver.url}/hooks/fulcrum?token={f.WEBHOOK_TOKEN}")
        incident, _ = _escalated(session)
        notify_incident(session, incident, NotificationEvent.OPENED, NOW)
        number = incident.number

    assert dispatch_notifications(sessions, settings, NOW) == 1

    (post,) = http_receiver.wait_for(1)
    assert post.path == "/hooks/fulcrum"
    assert post.param("token") == f.WEBHOOK_TOKEN
    body = post.json()
    assert body["title"] == f"【P1】新故障 {number}：核心交换机 core-sw-01 宕机"
    assert "第一负责人：张伟" in body["message"]
    assert (body["event"], body["incident"], body["priority"], body["type"]) == (
        "opened",
        number,
        "P1",
        "warning",
    )


def test_a_vendor_refusal_in_a_200_answer_is_a_failed_attempt(
    sessions: sessionmaker[Session], settings: Settings, http_receiver: HttpReceiver
) -> None:
    # WeCom answers a revoked key with HTTP 200 and an errcode, not with an HTTP error.
    http_receiver.default = Answer(200, {"errcode": 93000, "errmsg": "invalid webhook url"})
    with sessions() as session, session.begin():
        f.wecom(session, http_receiver.url)
        incident, _ = _escalated(session)
        notify_incident(session, incident, NotificationEvent.OPENED, NOW)

    assert dispatch_notifications(sessions, settings, NOW) == 0

    http_receiver.wait_for(1)
    with sessions() as session:
        delivery = _only_delivery(session)
        assert delivery.status == DeliveryStatus.PENDING
        assert delivery.attempts == 1
        assert delivery.last_error is not None
        assert "errcode=93000 errmsg=invalid webhook url" in delivery.last_error
        (attempt,) = session.scalars(select(DeliveryAttempt)).all()
        assert (attempt.number, attempt.ok, attempt.error) == (1, False, delivery.last_error)
