"""Prometheus collector: configured PromQL queries over the HTTP API, mapped to CIs.

``poll_prometheus(url, queries, *, token, timeout, …) -> PollResult`` (in
:mod:`collectors.prometheus.poll`) is the one entry point; settings live in
:mod:`collectors.prometheus.settings` (``[prometheus]``).
"""

from collectors.prometheus.poll import poll_prometheus, poll_with_settings
from collectors.prometheus.settings import PrometheusQuery, PrometheusSettings

__all__ = ["PrometheusQuery", "PrometheusSettings", "poll_prometheus", "poll_with_settings"]
