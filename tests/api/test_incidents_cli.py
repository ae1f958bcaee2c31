"""``fulcrum incidents close-resolved`` runs the auto-close job once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from api.cli import app
from itsm_core.incidents.choices import IncidentState
from itsm_core.incidents.models import Incident
from itsm_core.settings import Settings
from itsm_core.timeutil import utcnow
from tests.itsm_core.incidents import factories as f


def test_close_resolved_uses_the_setting(
    engine: Engine,
    settings: Settings,
    sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with sessions() as s, s.begin():
        old = f.incident_in(s, IncidentState.RESOLVED)
        old.resolved_at = utcnow() - timedelta(hours=80)
        recent = f.incident_in(s, IncidentState.RESOLVED)
        recent.resolved_at = utcnow() - timedelta(hours=10)
        ids = (old.id, recent.id)
    monkeypatch.setenv("FULCRUM_DATABASE_URL", settings.database.url.get_secret_value())

    result = CliRunner().invoke(app, ["incidents", "close-resolved"])
    assert result.exit_code == 0, result.output
    assert result.output.split() == ["closed", "1", "incident(s)", f"INC{ids[0]:06d}"]

    result = CliRunner().invoke(app, ["incidents", "close-resolved", "--hours", "5"])
    assert result.exit_code == 0, result.output
    with sessions() as s:
        assert [s.get(Incident, i).state for i in ids] == [IncidentState.CLOSED] * 2  # type: ignore[union-attr]
