"""pytest fixtures for the Prometheus-shaped peers (import them in a conftest.py).

    from tests.peers.prom_fixtures import metrics_exporter, prometheus  # noqa: F401

``metrics_exporter``: a prometheus_client server on loopback with a fresh registry;
``prometheus``: Debian Prometheus scraping that exporter and itself every second;
``alertmanager_factory``: start Alertmanagers pointed at a webhook (stopped at teardown).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.peers.alertmanager import AlertmanagerPeer, running_alertmanager
from tests.peers.exporter import Exporter, running_exporter
from tests.peers.prometheus import PrometheusPeer, running_prometheus

AlertmanagerFactory = Callable[..., AlertmanagerPeer]
PrometheusFactory = Callable[..., PrometheusPeer]


@pytest.fixture
def metrics_exporter() -> Iterator[Exporter]:
    with running_exporter() as exporter:
        yield exporter


@pytest.fixture
def prometheus(tmp_path: Path, metrics_exporter: Exporter) -> Iterator[PrometheusPeer]:
    with running_prometheus(
        tmp_path / "prometheus", scrape_targets=[metrics_exporter.address], scrape_self=True
    ) as peer:
        yield peer


@pytest.fixture
def prometheus_factory(tmp_path: Path) -> Iterator[PrometheusFactory]:
    """``prometheus_factory(**running_prometheus kwargs)``; each runs until teardown."""
    with ExitStack() as stack:
        count = 0

        def start(**kwargs: Any) -> PrometheusPeer:
            nonlocal count
            count += 1
            return stack.enter_context(running_prometheus(tmp_path / f"prom-{count}", **kwargs))

        yield start


@pytest.fixture
def alertmanager_factory(tmp_path: Path) -> Iterator[AlertmanagerFactory]:
    """``alertmanager_factory(webhook_url=…, bearer_token=…)``; each runs until teardown."""
    with ExitStack() as stack:
        count = 0

        def start(**kwargs: Any) -> AlertmanagerPeer:
            nonlocal count
            count += 1
            return stack.enter_context(running_alertmanager(tmp_path / f"am-{count}", **kwargs))

        yield start
