"""``fulcrum routing load|export|list|test`` against the test database.

The lead wires ``api.cli.routing.app`` as ``fulcrum routing``; here it runs under a root
context built the way ``fulcrum --config FILE`` builds it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from alerting.routing import rulefile, service
from api.cli import routing
from api.cli.context import CliContext
from itsm_core.actor import SYSTEM
from itsm_core.cmdb import service as cmdb
from itsm_core.people import service as people

RULES = """\
plans:
  - name: link-down
    title: 链路中断预案
    steps: |
      1. ping 路由器
      2. 联系运营商
rules:
  - name: test-env
    match: {matchers: ['env="test"']}
    route: {urgency: low}
  - name: network
    match:
      matchers: ['alertname=~"Device.*"']
      ci_classes: [network_device]
    route:
      group: network
      first_responsible: net.wang
      contingency_plan: link-down
      auto_resolve: true
"""


@pytest.fixture
def config(tmp_path: Path, database_url: str, engine: Engine) -> Path:
    path = tmp_path / "fulcrum.toml"
    path.write_text(f'[database]\nurl = "{database_url}"\n')
    return path


@pytest.fixture
def estate(sessions: sessionmaker[Session]) -> None:
    with sessions() as s, s.begin():
        people.create_group(s, SYSTEM, "network")
        people.create_user(s, SYSTEM, "net.wang")
        cmdb.create_ci(s, SYSTEM, {"class": "network_device", "name": "rt-01"})


def run(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(routing.app, list(args), obj=CliContext(config))
    return result.exit_code, result.output


def test_load_list_test_export(config: Path, tmp_path: Path, estate: None) -> None:
    file = tmp_path / "rules.yaml"
    file.write_text(RULES, encoding="utf-8")

    code, output = run(config, "load", str(file))
    assert code == 0, output
    assert "rules: 2 created, 0 updated, 0 unchanged, 0 deleted" in output
    assert "plans: 1 created" in output

    code, output = run(config, "load", str(file))
    assert "0 created, 0 updated, 2 unchanged" in output

    code, output = run(config, "list")
    assert code == 0, output
    assert "1. test-env" in output
    assert "2. network" in output
    assert "group=network" in output
    assert "plan=link-down" in output

    code, output = run(
        config,
        "test",
        "alertname=DeviceDown",
        "--labels",
        "env=prod",
        "--severity",
        "critical",
        "--ci",
        "rt-01",
    )
    assert code == 0, output
    assert "test-env: no: " in output
    assert "network: MATCH" in output
    assert "contingency_plan: link-down" in output
    assert "urgency: high" in output

    code, output = run(config, "test", "env=test")
    assert "rule: test-env" in output

    exported = tmp_path / "exported.yaml"
    code, output = run(config, "export", "--output", str(exported))
    assert code == 0, output
    parsed = rulefile.parse(exported.read_text(encoding="utf-8"))
    assert [r.name for r in parsed.rules] == ["test-env", "network"]
    assert parsed.plans[0].steps == "1. ping 路由器\n2. 联系运营商\n"


def test_load_reports_every_error_and_writes_nothing(
    config: Path, tmp_path: Path, estate: None, sessions: sessionmaker[Session]
) -> None:
    file = tmp_path / "rules.yaml"
    file.write_text(RULES.replace("group: network", "group: netwrk"), encoding="utf-8")

    code, output = run(config, "load", str(file))

    assert code == 1
    assert "rules[1].route.group: rule 'network': no group named 'netwrk'" in output
    with sessions() as s:
        assert service.list_rules(s) == []


def test_unreadable_files_exit_2(config: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [{name: r, match: {matchers: ['x=~\"(\"']}}]", encoding="utf-8")
    code, output = run(config, "load", str(bad))
    assert code == 2
    assert "rules[0].match.matchers[0]" in output

    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    assert run(config, "load", str(binary))[0] == 2


def test_bad_labels_and_unknown_cis_are_refused(config: Path, estate: None) -> None:
    code, output = run(config, "test", "no-equals-sign")
    assert code == 2
    assert "not label=value" in output
    code, output = run(config, "test", "--ci", "no-such-ci")
    assert code == 2
    code, output = run(config, "test", "--ci", "99999")
    assert code == 1
    assert "ci_id" in output
