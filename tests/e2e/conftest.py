"""A ``fulcrum serve`` process on the test database, plus the Prometheus-shaped peers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tests.peers.fulcrum_server import FulcrumServer, running_fulcrum
from tests.peers.prom_fixtures import (  # noqa: F401  (fixtures)
    alertmanager_factory,
    metrics_exporter,
    prometheus_factory,
)


@pytest.fixture
def fulcrum_server(tmp_path: Path, database_url: str, engine: Engine) -> Iterator[FulcrumServer]:
    """``fulcrum serve`` on the (migrated) test database; stopped before tables are emptied."""
    with running_fulcrum(tmp_path / "fulcrum", database_url) as server:
        yield server
