"""``fulcrum notify test / dispatch / escalate`` against the test database and peers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from api.cli import app
from itsm_core.timeutil import utcnow
from tests.alerting.notifications import factories as f
from tests.itsm_core.incidents import factories as inc
from tests.peers import fixtures as peers
from tests.peers.receivers import HttpReceiver

# The loopback peers (fixtures), until the lead registers them for the whole suite.
http_receiver, refused_url = peers.http_receiver, peers.refused_url


@pytest.fixture
def config(tmp_path: Path, database_url: str, engine: Engine) -> Path:
    path = tmp_path / "fulcrum.toml"
    path.write_text(f'[database]\nurl = "{database_url}"\n')
    return path


def run(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--config", str(config), "notify", *args])
    return result.exit_code, result.output


def test_test_sends_now_and_says_whether_it_arrived(
    config: Path, sessions: sessionmaker[Session], http_receiver: HttpReceiver, refused_url: str
) -> None:
    with sessions() as session, session.begin():
        f.wecom(session, http_receiver.url, name="ops-room")
        f.wecom(session, refused_url, name="dead-room")

    code, output = run(config, "test", "ops-room")
    assert code == 0, output
    assert output.startswith("test message 1 delivered to ops-room")
    assert http_receiver.wait_for(1)[0].json()["text"]["content"].startswith("Fulcrum 通知测试")

    code, output = run(config, "test", "dead-room")
    assert code == 1
    assert "not delivered (pending)" in output
    assert "ConnectError" in output
    assert f.WECOM_KEY not in output
    assert run(config, "test", "nowhere")[0] == 1


def test_escalate_and_dispatch_print_what_they_did(
    config: Path, sessions: sessionmaker[Session]
) -> None:
    code, output = run(config, "dispatch")
    assert (code, output.strip()) == (0, "sent: 0")
    with sessions() as session, session.begin():
        fresh = inc.incident(session, impact="high", urgency="high")
        old = inc.incident(session, impact="high", urgency="high")
        # Opened six minutes ago and still unaccepted: its first P1 step (5 min) is due.
        old.created_at = utcnow() - timedelta(minutes=6)
        numbers = fresh.number, old.number

    code, output = run(config, "escalate")
    assert code == 0, output
    assert output.splitlines() == [
        f"{numbers[1]}: first_responsible after 5 min (0 notification(s) queued)",
        "escalated: 1",
    ]
    assert run(config, "escalate")[1].strip() == "escalated: 0"
