"""Debian ``prometheus-alertmanager`` (0.25) on a free loopback port, gossip off.

    with running_alertmanager(tmp_path, webhook_url=url, bearer_token=secret) as am:
        ...  # point Prometheus at am.address

One route to one webhook receiver (``send_resolved: true``) with short group timers so a
firing or resolved alert reaches the receiver within a few seconds. ``--cluster.listen-
address=`` (empty) disables clustering, so nothing listens beyond the one HTTP port.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.peers.loopback import LOOPBACK, Daemon, child_env, free_port

BINARY = "prometheus-alertmanager"


def available() -> bool:
    return shutil.which(BINARY) is not None


@dataclass
class AlertmanagerPeer:
    """A running Alertmanager: base URL, ``host:port`` for Prometheus, its process."""

    url: str
    address: str
    workdir: Path
    daemon: Daemon

    def alerts(self, active_only: bool = False) -> list[dict[str, Any]]:
        """The alerts Alertmanager holds (API v2; test-side helper)."""
        params = {"active": "true"} if active_only else {}
        answer = httpx.get(
            f"{self.url}/api/v2/alerts", params=params, timeout=10.0, trust_env=False
        )
        answer.raise_for_status()
        alerts: list[dict[str, Any]] = answer.json()
        return alerts

    def notifications_sent(self) -> float:
        """``alertmanager_notifications_total`` summed over integrations (from /metrics)."""
        answer = httpx.get(f"{self.url}/metrics", timeout=10.0, trust_env=False)
        answer.raise_for_status()
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in answer.text.splitlines()
            if line.startswith("alertmanager_notifications_total{")
        )

    def wait_for_alert(self, name: str, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for alert in self.alerts():
                if alert.get("labels", {}).get("alertname") == name:
                    return alert
            time.sleep(0.25)
        raise AssertionError(f"alertmanager never held {name!r}:\n{self.daemon.log_tail()}")


def webhook_config(
    webhook_url: str,
    *,
    bearer_token: str | None = None,
    basic_auth: tuple[str, str] | None = None,
    group_by: list[str] | None = None,
    group_wait: str = "1s",
    group_interval: str = "2s",
    repeat_interval: str = "1h",
) -> dict[str, Any]:
    """An alertmanager.yml with one route to one webhook receiver."""
    hook: dict[str, Any] = {"url": webhook_url, "send_resolved": True}
    http_config: dict[str, Any] = {}
    if bearer_token is not None:
        http_config["authorization"] = {"type": "Bearer", "credentials": bearer_token}
    if basic_auth is not None:
        http_config["basic_auth"] = {"username": basic_auth[0], "password": basic_auth[1]}
    if http_config:
        hook["http_config"] = http_config
    return {
        "route": {
            "receiver": "fulcrum",
            "group_by": group_by if group_by is not None else ["alertname"],
            "group_wait": group_wait,
            "group_interval": group_interval,
            "repeat_interval": repeat_interval,
        },
        "receivers": [{"name": "fulcrum", "webhook_configs": [hook]}],
    }


@contextmanager
def running_alertmanager(
    workdir: Path,
    *,
    webhook_url: str | None = None,
    bearer_token: str | None = None,
    basic_auth: tuple[str, str] | None = None,
    config: dict[str, Any] | None = None,
    ready_timeout: float = 30.0,
) -> Iterator[AlertmanagerPeer]:
    """Start Alertmanager in ``workdir`` with ``config`` (or a one-webhook config)."""
    if not available():
        raise RuntimeError(f"{BINARY} is not installed (scripts/ensure-peers.sh)")
    if config is None:
        if webhook_url is None:
            raise ValueError("give webhook_url or a whole config")
        config = webhook_config(webhook_url, bearer_token=bearer_token, basic_auth=basic_auth)
    workdir.mkdir(parents=True, exist_ok=True)
    config_file = workdir / "alertmanager.yml"
    config_file.write_text(yaml.safe_dump(config))
    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    argv = [
        BINARY,
        f"--config.file={config_file}",
        f"--storage.path={workdir / 'data'}",
        f"--web.listen-address={LOOPBACK}:{port}",
        f"--web.external-url={url}/",
        "--cluster.listen-address=",
        "--log.level=warn",
    ]
    daemon = Daemon(
        "alertmanager",
        argv,
        log_path=workdir / "alertmanager.log",
        ready_url=f"{url}/-/ready",
        env=child_env(),
        cwd=workdir,
        ready_timeout=ready_timeout,
    )
    with daemon:
        yield AlertmanagerPeer(url, f"{LOOPBACK}:{port}", workdir, daemon)
