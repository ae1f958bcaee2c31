"""Debian ``prometheus`` (2.42) on a free loopback port with its own config and TSDB.

    with running_prometheus(tmp_path, scrape_targets=["127.0.0.1:9100"]) as prom:
        httpx.get(f"{prom.url}/api/v1/query", params={"query": "up"})

Scrape and rule evaluation every second so tests see data quickly. Optional: alerting
rules (YAML text), an Alertmanager to send them to, and basic auth on the HTTP API
(``web.config.file`` with a bcrypt hash) to test authentication failures against the
real server.
"""

from __future__ import annotations

import shutil
import ssl
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from api.demo.fakepve_runner import TlsFiles
from tests.peers.loopback import LOOPBACK, Daemon, child_env, free_port

BINARY = "prometheus"


def available() -> bool:
    return shutil.which(BINARY) is not None


@dataclass
class PrometheusPeer:
    """A running Prometheus: its base URL, working directory and process."""

    url: str
    port: int
    workdir: Path
    daemon: Daemon
    basic_auth: tuple[str, str] | None = None
    verify: ssl.SSLContext | bool = True

    def query(self, promql: str) -> list[dict[str, Any]]:
        """An instant query through the HTTP API (test-side helper, raises on errors)."""
        answer = httpx.get(
            f"{self.url}/api/v1/query",
            params={"query": promql},
            auth=self.basic_auth,
            timeout=10.0,
            trust_env=False,
            verify=self.verify,
        )
        answer.raise_for_status()
        result: list[dict[str, Any]] = answer.json()["data"]["result"]
        return result

    def wait_for(self, promql: str, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Poll (bounded) until ``promql`` returns at least one series."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = self.query(promql)
            if result:
                return result
            time.sleep(0.25)
        raise AssertionError(
            f"no result for {promql!r} within {timeout}s:\n{self.daemon.log_tail()}"
        )

    def requests_served(self, handler: str) -> float:
        """Prometheus' own count of HTTP requests to ``handler`` (read from /metrics)."""
        answer = httpx.get(
            f"{self.url}/metrics",
            auth=self.basic_auth,
            timeout=10.0,
            trust_env=False,
            verify=self.verify,
        )
        answer.raise_for_status()
        total = 0.0
        for line in answer.text.splitlines():
            if line.startswith("prometheus_http_requests_total{") and (
                f'handler="{handler}"' in line
            ):
                total += float(line.rsplit(" ", 1)[1])
        return total


def bcrypt_hash(password: str) -> str:
    """A bcrypt hash for ``web.config.file`` (via libxcrypt; tests only)."""
    with warnings.catch_warnings():
        # ``crypt`` is deprecated (removed in 3.13) but is the one bcrypt at hand here.
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt

        return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))


def _config(
    scrape_targets: Sequence[str],
    alertmanager: str | None,
    rule_file: Path | None,
    interval: str,
    labels: dict[str, str] | None,
) -> dict[str, Any]:
    config: dict[str, Any] = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "scrape_configs": [],
    }
    if scrape_targets:
        static: dict[str, Any] = {"targets": list(scrape_targets)}
        if labels:
            static["labels"] = labels
        config["scrape_configs"].append(
            {"job_name": "target", "scrape_timeout": interval, "static_configs": [static]}
        )
    if rule_file is not None:
        config["rule_files"] = [str(rule_file)]
    if alertmanager is not None:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    return config


@contextmanager
def running_prometheus(
    workdir: Path,
    *,
    scrape_targets: Sequence[str] = (),
    scrape_self: bool = False,
    rules: str | None = None,
    alertmanager: str | None = None,
    interval: str = "1s",
    target_labels: dict[str, str] | None = None,
    basic_auth: tuple[str, str] | None = None,
    tls: TlsFiles | None = None,
    ready_timeout: float = 30.0,
) -> Iterator[PrometheusPeer]:
    """Start Prometheus in ``workdir`` (config, TSDB, log), yield it, always stop it.

    ``alertmanager`` is ``host:port`` of an Alertmanager; ``rules`` the text of a rule
    file; ``basic_auth`` protects the HTTP API with that user and password; ``tls``
    serves it over https with that certificate (``PrometheusPeer.verify`` trusts its CA).
    """
    if not available():
        raise RuntimeError(f"{BINARY} is not installed (scripts/ensure-peers.sh)")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    rule_file = None
    if rules is not None:
        rule_file = workdir / "rules.yml"
        rule_file.write_text(rules)
    config_file = workdir / "prometheus.yml"
    config = _config(scrape_targets, alertmanager, rule_file, interval, target_labels)
    if scrape_self:
        # Its own job, speaking whatever its own web config demands (TLS, basic auth).
        job: dict[str, Any] = {
            "job_name": "prometheus",
            "scrape_timeout": interval,
            "static_configs": [{"targets": [f"{LOOPBACK}:{port}"]}],
        }
        if tls is not None:
            job["scheme"] = "https"
            job["tls_config"] = {"ca_file": str(tls.ca_file)}
        if basic_auth is not None:
            job["basic_auth"] = {"username": basic_auth[0], "password": basic_auth[1]}
        config["scrape_configs"].append(job)
    config_file.write_text(yaml.safe_dump(config))
    argv = [
        BINARY,
        f"--config.file={config_file}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address={LOOPBACK}:{port}",
        "--web.enable-lifecycle",
        "--log.level=warn",
    ]
    scheme = "https" if tls is not None else "http"
    web: dict[str, Any] = {}
    if basic_auth is not None:
        web["basic_auth_users"] = {basic_auth[0]: bcrypt_hash(basic_auth[1])}
    if tls is not None:
        web["tls_server_config"] = {"cert_file": str(tls.cert_file), "key_file": str(tls.key_file)}
    if web:
        web_config = workdir / "web.yml"
        web_config.write_text(yaml.safe_dump(web))
        argv.append(f"--web.config.file={web_config}")
    # generatorURL and links name the loopback address, not the machine's hostname.
    url = f"{scheme}://{LOOPBACK}:{port}"
    argv.append(f"--web.external-url={url}/")
    # With basic auth on, /-/ready wants the credentials too.
    userinfo = f"{basic_auth[0]}:{basic_auth[1]}@" if basic_auth is not None else ""
    ready = f"{scheme}://{userinfo}{LOOPBACK}:{port}/-/ready"
    verify: ssl.SSLContext | bool = True
    if tls is not None:
        verify = ssl.create_default_context(cafile=str(tls.ca_file))
    daemon = Daemon(
        "prometheus",
        argv,
        log_path=workdir / "prometheus.log",
        ready_url=ready,
        env=child_env(),
        cwd=workdir,
        ready_timeout=ready_timeout,
        ready_verify=verify,
    )
    with daemon:
        yield PrometheusPeer(url, port, workdir, daemon, basic_auth, verify)
