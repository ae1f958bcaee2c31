"""``fulcrum alerts list | replay | deadman``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from alerting.intake_models import Alert
from api.cli import app
from itsm_core.incidents.models import Incident
from itsm_core.settings import Settings
from itsm_core.timeutil import utcnow
from tests.alerting.intake.helpers import alert, am_alert, am_payload, build_estate, count, run


@pytest.fixture
def cli_env(engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("FULCRUM_DATABASE_URL", settings.database.url.get_secret_value())
    return CliRunner()


def test_replay_then_list(
    cli_env: CliRunner, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    build_estate(sessions)
    body = tmp_path / "delivery.json"
    body.write_text(json.dumps(am_payload([am_alert("NodeDown", "pacs-01:9100")])))
    first = cli_env.invoke(app, ["alerts", "replay", str(body)])
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["new"] == 1
    again = cli_env.invoke(app, ["alerts", "replay", str(body)])
    assert json.loads(again.output)["duplicate_delivery"] is True
    listed = cli_env.invoke(app, ["alerts", "list", "--status", "firing"])
    assert listed.exit_code == 0, listed.output
    assert "NodeDown" in listed.output
    assert "INC000001" in listed.output
    unbound = cli_env.invoke(app, ["alerts", "list", "--unbound"])
    assert unbound.output.strip() == "no alerts"
    with sessions() as s:
        assert count(s, Alert) == 1
        assert count(s, Incident) == 1


def test_replay_refuses_a_bad_file(cli_env: CliRunner, tmp_path: Path) -> None:
    body = tmp_path / "bad.json"
    body.write_text('{"alerts": "nope"}')
    result = cli_env.invoke(app, ["alerts", "replay", str(body), "--kind", "generic"])
    assert result.exit_code == 2
    assert "not a valid generic payload" in result.output


def test_deadman_status_and_check(
    cli_env: CliRunner, sessions: sessionmaker[Session], settings: Settings
) -> None:
    never = cli_env.invoke(app, ["alerts", "deadman"])
    assert never.exit_code == 0, never.output
    assert "Watchdog: never_seen" in never.output
    run(sessions, settings, [alert("wd", name="Watchdog")], utcnow())
    checked = cli_env.invoke(app, ["alerts", "deadman", "--check"])
    assert checked.exit_code == 0, checked.output
    assert "checked" in checked.output
    assert "Watchdog: ok" in checked.output
