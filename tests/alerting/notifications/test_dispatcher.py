"""The dispatcher: retries with back-off, giving up, dead channels, leases, concurrency,
expiry, and secrets kept out of logs — all against real loopback peers."""

# Chinese message text uses full-width colons, commas and brackets on purpose.

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerting.notifications.choices import DeliveryStatus, NotificationEvent
from alerting.notifications.dispatcher import claim, dispatch_notifications
from alerting.notifications.models import DeliveryAttempt, NotificationDelivery
from alerting.notifications.outbox import notify_incident
from alerting.notifications.settings import NotificationSettings
from itsm_core.db import unit_of_work
from itsm_core.incidents import timeline
from itsm_core.incidents.choices import TimelineKind
from itsm_core.incidents.models import Incident
from itsm_core.settings import Settings
from tests.alerting.notifications import factories as f
from tests.itsm_core.incidents import factories as inc
from tests.peers.fixtures import ReceiverFactory
from tests.peers.receivers import Answer, HttpReceiver, SmtpSink

NOW = datetime(2026, 11, 22, 1, 30, tzinfo=UTC)
D = NotificationDelivery


def _incident(session: Session, title: str = "HIS 门诊挂号缓慢") -> Incident:
    return inc.incident(session, title=title, impact="high", urgency="medium")


def _deliveries(session: Session) -> list[NotificationDelivery]:
    return list(session.scalars(select(D).order_by(D.id).execution_options(populate_existing=True)))


def _attempts(session: Session, delivery_id: int) -> list[tuple[int, bool, str | None]]:
    rows = session.scalars(
        select(DeliveryAttempt)
        .where(DeliveryAttempt.delivery_id == delivery_id)
        .order_by(DeliveryAttempt.number)
    )
    return [(a.number, a.ok, a.error) for a in rows]


def test_retries_with_back_off_until_the_peer_answers(
    sessions: sessionmaker[Session], settings: Settings, http_receiver: HttpReceiver
) -> None:
    http_receiver.script(500)
    with sessions() as session, session.begin():
        f.wecom(session, http_receiver.url, name="ops")
        incident = _incident(session)
        notify_incident(session, incident, NotificationEvent.OPENED, NOW)
        incident_id = incident.id

    assert dispatch_notifications(sessions, settings, NOW) == 0
    with sessions() as session:
        (row,) = _deliveries(session)
        assert (row.status, row.attempts) == (DeliveryStatus.PENDING, 1)
        assert row.next_attempt_at == NOW + timedelta(seconds=30)  # backoff_base_seconds
        assert row.last_error is not None
        assert "HTTP 500" in row.last_error

    # Not due yet: nothing is sent before the back-off ends.
    assert dispatch_notifications(sessions, settings, NOW + timedelta(seconds=29)) == 0
    assert len(http_receiver.requests) == 1

    assert dispatch_notifications(sessions, settings, NOW + timedelta(seconds=30)) == 1
    assert [r.status for r in http_receiver.wait_for(2)] == [500, 200]
    with sessions() as session:
        (row,) = _deliveries(session)
        assert (row.status, row.attempts, row.last_error) == (DeliveryStatus.SENT, 2, None)
        assert row.sent_at == NOW + timedelta(seconds=30)
        attempts = _attempts(session, row.id)
        assert [(n, ok) for n, ok, _ in attempts] == [(1, False), (2, True)]
        notes = timeline.entries(session, incident_id, [TimelineKind.NOTIFICATION])
        assert [n.body for n in notes] == ["Notified wecom channel 'ops' (opened)"]


def test_back_off_doubles_and_gives_up_after_max_attempts(
    sessions: sessionmaker[Session], settings: Settings, http_receiver: HttpReceiver
) -> None:
    http_receiver.default = Answer(503)
    config = f.settings_with(settings, max_attempts=3, backoff_base_seconds=10)
    with sessions() as session, session.begin():
        f.dingtalk(session, http_receiver.url, name="钉钉值班群")
        incident = _incident(session)
        notify_incident(session, incident, NotificationEvent.OPENED, NOW)
        incident_id = incident.id

    moments = [NOW, NOW + timedelta(seconds=10), NOW + timedelta(seconds=30)]
    for moment in moments:
        assert dispatch_notifications(sessions, config, moment) == 0
    # Given up: later runs send nothing more.
    assert dispatch_notifications(sessions, config, NOW + timedelta(hours=2)) == 0

    assert len(http_receiver.requests) == 3
    with sessions() as session:
        (row,) = _deliveries(session)
        assert (row.status, row.attempts) == (DeliveryStatus.FAILED, 3)
        assert [n for n, ok, _ in _attempts(session, row.id) if not ok] == [1, 2, 3]
        (note,) = timeline.entries(session, incident_id, [TimelineKind.NOTIFICATION])
        assert note.body.startswith("Notification to dingtalk channel '钉钉值班群' failed after 3")
        assert "HTTP 503" in note.body


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_dead_channel_blocks_neither_queuing_nor_another_channel(
    sessions: sessionmaker[Session],
    settings: Settings,
    http_receiver: HttpReceiver,
    refused_url: str,
    concurrency: int,
) -> None:
    config = f.settings_with(settings, concurrency=concurrency)
    with sessions() as session, session.begin():
        dead = f.wecom(session, refused_url, name="dead").id
        live = f.webhook(session, f"{http_receiver.url}/hook", name="live").id
        for title in ("one", "two"):
            notify_incident(session, _incident(session, title), NotificationEvent.OPENED, NOW)
    # Queuing did no I/O at all: nothing reached any peer before the dispatcher ran.
    assert http_receiver.requests == []

    assert dispatch_notifications(sessions, config, NOW) == 2

    assert sorted(r.json()["message"].splitlines()[1] for r in http_receiver.wait_for(2)) == [
        "标题：one",
        "标题：two",
    ]
    with sessions() as session:
        rows = _deliveries(session)
        assert [r.status for r in rows if r.channel_id == live] == [DeliveryStatus.SENT] * 2
        first, second = (r for r in rows if r.channel_id == dead)
        assert (first.status, first.attempts) == (DeliveryStatus.PENDING, 1)
        assert first.last_error is not None
        assert "ConnectError" in first.last_error
        # The second was not tried (no timeout paid twice): it waits for the first's retry.
        assert (second.status, second.attempts) == (DeliveryStatus.PENDING, 0)
        assert second.next_attempt_at == first.next_attempt_at == NOW + timedelta(seconds=30)
        assert second.last_error is not None
        assert second.last_error.startswith("deferred:")
        assert _attempts(session, second.id) == []


def test_a_hanging_channel_costs_one_timeout_per_run(
    sessions: sessionmaker[Session],
    settings: Settings,
    http_receiver_factory: ReceiverFactory,
) -> None:
    hanging, live = http_receiver_factory(), http_receiver_factory()
    hanging.default = Answer(200, delay=3.0)
    config = f.settings_with(settings, send_timeout_seconds=0.5, concurrency=1)
    with sessions() as session, session.begin():
        f.wecom(session, hanging.url, name="hanging")
        f.wecom(session, live.url, name="live")
        for title in ("one", "two", "three"):
            notify_incident(session, _incident(session, title), NotificationEvent.OPENED, NOW)

    assert dispatch_notifications(sessions, config, NOW) == 3

    assert len(live.wait_for(3)) == 3
    assert len(hanging.wait_for(1)) == 1
    with sessions() as session:
        stuck = [r for r in _deliveries(session) if r.channel_name == "hanging"]
        assert [r.attempts for r in stuck] == [1, 0, 0]
        assert stuck[0].last_error is not None
        assert "Timeout" in stuck[0].last_error


def test_rows_of_a_dead_dispatcher_are_sent_after_its_lease(
    sessions: sessionmaker[Session], settings: Settings, http_receiver: HttpReceiver
) -> None:
    with sessions() as session, session.begin():
        f.wecom(session, http_receiver.url)
        notify_incident(session, _incident(session), NotificationEvent.OPENED, NOW)
    config = settings.section(NotificationSettings)
    lease_until = NOW + timedelta(seconds=config.lease_seconds)
    # A dispatcher claims the row and dies before sending or recording anything.
    with unit_of_work(sessions) as session:
        assert len(claim(session, NOW, lease_until, config)) == 1

    assert dispatch_notifications(sessions, settings, NOW + timedelta(seconds=60)) == 0
    assert http_receiver.requests == []
    assert dispatch_notifications(sessions, settings, lease_until + timedelta(seconds=1)) == 1
    assert len(http_receiver.wait_for(1)) == 1
    with sessions() as session:
        (row,) = _deliveries(session)
        assert (row.status, row.attempts) == (DeliveryStatus.SENT, 1)


def test_two_dispatchers_at_once_send_each_message_once(
    sessions: sessionmaker[Session], settings: Settings, http_receiver: HttpReceiver
) -> None:
    titles = [f"incident {n}" for n in range(12)]
    with sessions() as session, session.begin():
        f.webhook(session, f"{http_receiver.url}/hook")
        for title in titles:
            notify_incident(session, _incident(session, title), NotificationEvent.OPENED, NOW)
    start = threading.Barrier(2, timeout=10)
    sent: list[int] = []

    def worker() -> None:
        start.wait()
        sent.append(dispatch_notifications(sessions, settings, NOW))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sum(sent) == len(titles)
    got = sorted(r.json()["message"].splitlines()[1] for r in http_receiver.wait_for(12))
    assert got == sorted(f"标题：{t}" for t in titles)
    with sessions() as session:
        assert {r.status for r in _deliveries(session)} == {DeliveryStatus.SENT}


def test_expired_disabled_and_deleted_channels_send_nothing(
    sessions: sessionmaker[Session], settings: Settings, http_receiver: HttpReceiver
) -> None:
    with sessions() as session, session.begin():
        kept = f.wecom(session, http_receiver.url, name="kept")
        muted = f.wecom(session, http_receiver.url, name="muted")
        notify_incident(session, _incident(session), NotificationEvent.OPENED, NOW)
        muted.enabled = False

    later = NOW + timedelta(minutes=NotificationSettings().expire_after_minutes + 1)
    assert dispatch_notifications(sessions, settings, later) == 0

    assert http_receiver.requests == []
    with sessions() as session:
        states = {r.channel_name: (r.status, r.last_error) for r in _deliveries(session)}
    assert states == {
        "kept": (DeliveryStatus.FAILED, "expired: not sent in 1440 min"),
        "muted": (DeliveryStatus.CANCELLED, "channel disabled"),
    }
    del kept


def test_secrets_never_reach_logs_or_the_delivery_log(
    sessions: sessionmaker[Session],
    settings: Settings,
    http_receiver: HttpReceiver,
    smtp_sink: SmtpSink,
    refused_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    http_receiver.script(500)
    with sessions() as session, session.begin():
        f.wecom(session, http_receiver.url)
        f.dingtalk(session, refused_url)
        f.email(session, smtp_sink.host, smtp_sink.port, ["noc@hospital.example"])
        f.webhook(session, f"{refused_url}/hook?token={f.WEBHOOK_TOKEN}")
        notify_incident(session, _incident(session), NotificationEvent.OPENED, NOW)

    dispatch_notifications(sessions, settings, NOW)
    dispatch_notifications(sessions, settings, NOW + timedelta(minutes=5))

    assert len(smtp_sink.wait_for(1)) == 1
    with sessions() as session:
        rows = _deliveries(session)
        stored = " ".join(
            str(e) for r in rows for e in [r.last_error, *(a[2] for a in _attempts(session, r.id))]
        )
    assert {r.channel_name.split("-")[0]: r.status for r in rows} == {
        "wecom": DeliveryStatus.SENT,
        "dingtalk": DeliveryStatus.PENDING,
        "email": DeliveryStatus.SENT,
        "webhook": DeliveryStatus.PENDING,
    }
    # The libraries did log the requests (with their URLs) — masked.
    assert "***" in caplog.text
    for secret in (
        f.WECOM_KEY,
        f.DINGTALK_TOKEN,
        f.DINGTALK_SECRET,
        f.SMTP_PASSWORD,
        f.WEBHOOK_TOKEN,
    ):
        assert secret not in caplog.text
        assert secret not in stored
