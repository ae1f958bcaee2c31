"""Real peers for the Prometheus collector tests."""

from tests.peers.prom_fixtures import (  # noqa: F401  (fixtures)
    metrics_exporter,
    prometheus,
    prometheus_factory,
)
