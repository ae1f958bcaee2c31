"""Fulcrum's own collection figures, exported at ``/metrics`` with the API's.

Labels are bounded: ``kind`` is one of three collectors and ``reason`` one of the
``CollectorError`` reasons — never a target address (10,000 devices would be 10,000
series in the hospital's Prometheus; per-target health is in the database and alerts).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

POLL_DURATION = Histogram(
    "fulcrum_collector_poll_duration_seconds",
    "Time one poll of one target took, failures included",
    ["kind"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
POLLS = Counter(
    "fulcrum_collector_polls_total",
    "Polls finished, by outcome (ok or failed)",
    ["kind", "outcome"],
)
POLL_ERRORS = Counter(
    "fulcrum_collector_poll_errors_total",
    "Failed polls by collector error reason",
    ["kind", "reason"],
)
SAMPLES_WRITTEN = Counter(
    "fulcrum_collector_samples_written_total", "Samples newly stored in the metric store", ["kind"]
)
TARGETS = Gauge("fulcrum_collector_targets", "Targets the scheduler polls", ["kind"])
TARGETS_FAILING = Gauge(
    "fulcrum_collector_targets_failing",
    "Targets whose last poll failed",
    ["kind"],
)
