"""A real scrape target: a prometheus_client HTTP server on loopback with gauges we set.

with running_exporter() as exporter:
    temp = exporter.gauge("room_temperature_celsius", "…", ["instance_name"])
    temp.labels("ward-3").set(21.5)
    # Prometheus scrapes exporter.address
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Gauge, start_http_server

from tests.peers.loopback import LOOPBACK


@dataclass
class Exporter:
    """The exporter's ``host:port`` and its private registry."""

    address: str
    registry: CollectorRegistry

    def gauge(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> Gauge:
        return Gauge(name, documentation, labelnames, registry=self.registry)


@contextmanager
def running_exporter() -> Iterator[Exporter]:
    """Serve a fresh registry on 127.0.0.1 (OS-chosen port) until the block ends."""
    registry = CollectorRegistry()
    server, thread = start_http_server(0, addr=LOOPBACK, registry=registry)
    try:
        yield Exporter(f"{LOOPBACK}:{server.server_port}", registry)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
