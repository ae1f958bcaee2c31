"""``fulcrum sla evaluate`` and ``fulcrum sla notice load`` against the test database."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from api.cli import app
from itsm_core.sla import service as sla
from itsm_core.sla.choices import DaySource
from tests.itsm_core.sla.stored import office_calendar

NOTICE = """\
year: 2027
title: 国务院办公厅关于2027年部分节假日安排的通知
holidays:
  2027-10-01: 国庆节
  2027-10-02: 国庆节
workdays:
  2027-09-26: 国庆节调休
"""


@pytest.fixture
def config(tmp_path: Path, database_url: str, engine: Engine) -> Path:
    path = tmp_path / "fulcrum.toml"
    path.write_text(f'[database]\nurl = "{database_url}"\n')
    return path


def run(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--config", str(config), "sla", *args])
    return result.exit_code, result.output


def test_notice_load_from_yaml(
    config: Path, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    with sessions() as session, session.begin():
        office_calendar(session, "outpatient")
    notice = tmp_path / "2027.yaml"
    notice.write_text(NOTICE, encoding="utf-8")

    code, output = run(config, "notice", "load", "--calendar", "outpatient", str(notice))

    assert code == 0, output
    assert "2 holidays, 1 make-up days" in output
    with sessions() as session:
        calendar = sla.find_calendar(session, "outpatient")
        assert calendar is not None
        assert sla.day_info(calendar, date(2027, 9, 26)).source is DaySource.OFFICIAL_NOTICE


def test_notice_load_refuses_unknown_calendar_and_bad_files(config: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(NOTICE, encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text("year: 2027\nholidays:\n  not-a-date: x\n", encoding="utf-8")

    assert run(config, "notice", "load", "--calendar", "nowhere", str(good))[0] == 1
    assert run(config, "notice", "load", "--calendar", "nowhere", str(bad))[0] == 2


def test_evaluate_prints_counts(config: Path) -> None:
    code, output = run(config, "evaluate")
    assert code == 0, output
    assert output.strip() == "warnings: 0, breaches: 0, resynced: 0"
