"""``fulcrum poll snmp|proxmox|prometheus``: one poll of one real peer on loopback.

Samples come out as JSON lines on stdout; a failure exits 1 with its reason on stderr;
credentials never appear in either stream.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from api.cli import app
from tests.peers import prometheus as prometheus_peer
from tests.peers.exporter import Exporter, running_exporter
from tests.peers.loopback import free_port
from tests.peers.prometheus import PrometheusPeer, running_prometheus
from tests.peers.proxmox import PvePeer, make_tls, running_fakepve
from tests.peers.snmp import (
    AUTH_PASS,
    PRIV_PASS,
    SnmpdPeer,
    SnmpsimPeer,
    environment_has_crypto,
    free_udp_port,
    running_snmpd,
    running_snmpsim,
)

runner = CliRunner()


def poll(*args: str) -> Result:
    return runner.invoke(app, ["poll", *args])


def samples(result: Result) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def assert_secret_kept(result: Result, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in result.stdout
        assert secret not in result.stderr


@pytest.fixture(scope="module")
def snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnmpdPeer]:
    with running_snmpd(tmp_path_factory.mktemp("snmpd")) as peer:
        yield peer


@pytest.fixture
def snmpsim(tmp_path: Path) -> Iterator[SnmpsimPeer]:
    with running_snmpsim(tmp_path / "snmpsim") as peer:
        yield peer


@pytest.fixture(scope="module")
def pve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PvePeer]:
    with running_fakepve(make_tls(tmp_path_factory.mktemp("pve-tls"))) as peer:
        yield peer


@pytest.fixture(scope="module")
def exporter() -> Iterator[Exporter]:
    with running_exporter() as peer:
        yield peer


@pytest.fixture(scope="module")
def prometheus(
    tmp_path_factory: pytest.TempPathFactory, exporter: Exporter
) -> Iterator[PrometheusPeer]:
    if not prometheus_peer.available():
        pytest.skip("Debian prometheus is not installed")
    with running_prometheus(
        tmp_path_factory.mktemp("prometheus"), scrape_targets=[exporter.address]
    ) as peer:
        yield peer


# -- SNMP ------------------------------------------------------------------------------


def test_snmp_v2c_prints_samples_as_json_lines(snmpd: SnmpdPeer) -> None:
    result = poll("snmp", f"127.0.0.1:{snmpd.port}", "--community", snmpd.community)
    lines = samples(result)
    by_metric = {line["metric"]: line for line in lines}
    assert by_metric["snmp_up"]["value"] == 1
    assert by_metric["snmp_uptime_seconds"]["value"] > 0
    assert by_metric["snmp_up"]["ci"] == {"source": "snmp", "id": f"127.0.0.1:{snmpd.port}"}
    assert all(line["ts"].endswith("+00:00") for line in lines)
    assert any(line["metric"] == "snmp_if_oper_status" for line in lines)
    assert f"snmp:127.0.0.1:{snmpd.port}: {len(lines)} sample(s)" in result.stderr
    assert_secret_kept(result, snmpd.community)


def test_snmp_v3_authentication_without_privacy(snmpd: SnmpdPeer) -> None:
    result = poll(
        "snmp",
        f"127.0.0.1:{snmpd.port}",
        "--v3-user",
        "authsha",
        "--auth-protocol",
        "SHA",
        "--auth-key",
        AUTH_PASS,
    )
    assert any(line["metric"] == "snmp_up" and line["value"] == 1 for line in samples(result))
    assert_secret_kept(result, AUTH_PASS)


@pytest.mark.skipif(not environment_has_crypto(), reason="pysnmp needs cryptography for AES")
def test_snmp_v3_auth_and_privacy(snmpd: SnmpdPeer) -> None:
    result = poll(
        "snmp",
        f"127.0.0.1:{snmpd.port}",
        "--v3-user",
        "sha256aes",
        "--auth-protocol",
        "SHA-256",
        "--auth-key",
        AUTH_PASS,
        "--priv-protocol",
        "AES128",
        "--priv-key",
        PRIV_PASS,
    )
    assert {line["metric"] for line in samples(result)} >= {"snmp_up", "snmp_uptime_seconds"}
    assert_secret_kept(result, AUTH_PASS, PRIV_PASS)


def test_snmp_v3_wrong_key_is_an_authentication_failure(snmpd: SnmpdPeer) -> None:
    wrong = "not-the-auth-pass"
    result = poll(
        "snmp",
        f"127.0.0.1:{snmpd.port}",
        "--v3-user",
        "authsha",
        "--auth-protocol",
        "SHA",
        "--auth-key",
        wrong,
        "--timeout",
        "20",
    )
    assert result.exit_code == 1
    assert "authentication_failed" in result.stderr
    assert result.stdout == ""
    assert_secret_kept(result, wrong)


def test_snmp_simulated_router(snmpsim: SnmpsimPeer) -> None:
    result = poll("snmp", f"127.0.0.1:{snmpsim.port}", "--community", "router")
    metrics = {line["metric"] for line in samples(result)}
    assert {"snmp_up", "snmp_if_oper_status", "snmp_if_speed_mbps"} <= metrics


def test_snmp_dead_port_fails_with_a_reason() -> None:
    result = poll(
        "snmp", f"127.0.0.1:{free_udp_port()}", "--community", "c0mmunity", "--timeout", "3"
    )
    assert result.exit_code == 1
    assert "failed: unreachable:" in result.stderr
    assert result.stdout == ""
    assert_secret_kept(result, "c0mmunity")


def test_snmp_needs_exactly_one_kind_of_credentials() -> None:
    neither = poll("snmp", "127.0.0.1")
    assert neither.exit_code == 2
    assert "--community" in neither.stderr
    both = poll("snmp", "127.0.0.1", "--community", "c", "--v3-user", "u")
    assert both.exit_code == 2
    short = poll("snmp", "127.0.0.1", "--v3-user", "u", "--auth-key", "tiny-k")
    assert short.exit_code == 2
    assert "at least 8 characters" in short.stderr
    assert_secret_kept(short, "tiny-k")


# -- Proxmox ---------------------------------------------------------------------------


def test_proxmox_with_token_and_ca_bundle(pve: PvePeer) -> None:
    result = poll(
        "proxmox", pve.url, "--token", pve.spec.token, "--ca-bundle", str(pve.tls.ca_file)
    )
    lines = samples(result)
    assert lines
    assert {line["ci"]["source"] for line in lines if line["ci"]} == {"proxmox"}
    assert "CI(s)" in result.stderr
    assert_secret_kept(result, pve.spec.token_secret)


# proxmoxer (requests/urllib3) warns on every unverified request; --insecure asked for it.
@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_proxmox_verifies_tls_unless_told(pve: PvePeer) -> None:
    untrusted = poll("proxmox", pve.url, "--token", pve.spec.token)
    assert untrusted.exit_code == 1
    assert "failed: unreachable:" in untrusted.stderr
    assert "TLS" in untrusted.stderr
    insecure = poll("proxmox", pve.url, "--token", pve.spec.token, "--insecure")
    assert samples(insecure)
    assert_secret_kept(insecure, pve.spec.token_secret)


def test_proxmox_wrong_token_is_an_authentication_failure(pve: PvePeer) -> None:
    wrong = f"{pve.spec.token_id}=00000000-0000-0000-0000-000000000000"
    result = poll("proxmox", pve.url, "--token", wrong, "--ca-bundle", str(pve.tls.ca_file))
    assert result.exit_code == 1
    assert "failed: authentication_failed:" in result.stderr
    assert_secret_kept(result, "00000000-0000-0000-0000-000000000000")


def test_proxmox_dead_port_and_bad_token_form(tmp_path: Path) -> None:
    dead = poll("proxmox", f"https://127.0.0.1:{free_port()}", "--token", "a@pve!b=S3CRET-X")
    assert dead.exit_code == 1
    assert "failed: unreachable:" in dead.stderr
    assert_secret_kept(dead, "S3CRET-X")
    malformed = poll("proxmox", "https://127.0.0.1:8006", "--token", "S3CRET-ONLY")
    assert malformed.exit_code == 2
    assert "user@realm!tokenid=secret" in malformed.stderr
    assert_secret_kept(malformed, "S3CRET-ONLY")


# -- Prometheus ------------------------------------------------------------------------


def test_prometheus_queries(exporter: Exporter, prometheus: PrometheusPeer) -> None:
    exporter.gauge("ward_temperature_celsius", "Room temperature.", ["ward"]).labels("ward-3").set(
        21.5
    )
    prometheus.wait_for("ward_temperature_celsius")
    result = poll(
        "prometheus", prometheus.url, "--query", "ward_temperature_celsius", "--query", "up"
    )
    lines = samples(result)
    temps = [line for line in lines if line["metric"] == "query"]
    assert [(t["labels"]["ward"], t["value"]) for t in temps] == [("ward-3", 21.5)]
    assert {line["metric"] for line in lines} == {"query", "query_2"}


def test_prometheus_dead_port_and_bad_query(prometheus: PrometheusPeer) -> None:
    dead = poll("prometheus", f"http://127.0.0.1:{free_port()}", "--query", "up")
    assert dead.exit_code == 1
    assert "failed: unreachable:" in dead.stderr
    bad = poll("prometheus", prometheus.url, "--query", "sum(")
    assert bad.exit_code == 1
    assert "failed: protocol_error:" in bad.stderr
