"""poll_prometheus against Debian prometheus 2.42 scraping a prometheus_client exporter."""

from __future__ import annotations

import asyncio
import itertools
import math
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from api.demo.fakepve_runner import make_tls
from collectors.errors import AuthenticationFailed, ProtocolError, TargetUnreachable
from collectors.prometheus import PrometheusQuery, poll_prometheus
from collectors.samples import CIRef
from tests.peers.exporter import Exporter
from tests.peers.loopback import free_port
from tests.peers.prom_fixtures import PrometheusFactory
from tests.peers.prometheus import PrometheusPeer

TEMPERATURE = "ward_temperature_celsius"


def _temperature(exporter: Exporter, values: dict[str, float]) -> None:
    gauge = exporter.gauge(TEMPERATURE, "Room temperature per ward.", ["ci"])
    for ci, value in values.items():
        gauge.labels(ci).set(value)


def test_instant_query_maps_series_to_cis(
    metrics_exporter: Exporter, prometheus: PrometheusPeer
) -> None:
    _temperature(metrics_exporter, {"ward-3": 21.5, "ward-4": 19.25})
    prometheus.wait_for(f"count({TEMPERATURE}) == 2")
    prometheus.wait_for("count(up == 1) == 2")  # the exporter and Prometheus itself

    result = asyncio.run(
        poll_prometheus(
            prometheus.url,
            [
                PrometheusQuery(name="temp", promql=TEMPERATURE, ci="{ci}", ci_source="bms"),
                PrometheusQuery(name="up_by_host", promql="up", ci="{instance|host}"),
            ],
            token=None,
            timeout=5.0,
        )
    )

    assert result.target == prometheus.url
    temps = {s.labels["ci"]: s for s in result.samples if s.metric == "temp"}
    assert {k: v.value for k, v in temps.items()} == {"ward-3": 21.5, "ward-4": 19.25}
    assert temps["ward-3"].ci == CIRef("bms", "ward-3")
    assert temps["ward-3"].labels["instance"] == metrics_exporter.address
    assert "__name__" not in temps["ward-3"].labels
    assert temps["ward-3"].ts.tzinfo is not None
    # Both scrape targets (the exporter and Prometheus itself) are up on 127.0.0.1.
    ups = [s for s in result.samples if s.metric == "up_by_host"]
    assert sorted(s.labels["instance"] for s in ups) == sorted(
        [metrics_exporter.address, f"127.0.0.1:{prometheus.port}"]
    )
    assert {s.ci for s in ups} == {CIRef("prometheus", "127.0.0.1")}
    assert all(s.value == 1.0 for s in ups)


def test_a_new_value_is_seen_on_the_next_poll(
    metrics_exporter: Exporter, prometheus: PrometheusPeer
) -> None:
    gauge = metrics_exporter.gauge("link_latency_seconds", "RTT to a clinic.", ["clinic"])
    gauge.labels("c-17").set(0.25)
    prometheus.wait_for("link_latency_seconds == 0.25")
    first = asyncio.run(poll_prometheus(prometheus.url, ["link_latency_seconds"], timeout=5.0))
    gauge.labels("c-17").set(4.0)
    prometheus.wait_for("link_latency_seconds == 4")
    second = asyncio.run(poll_prometheus(prometheus.url, ["link_latency_seconds"], timeout=5.0))

    assert [s.value for s in first.samples] == [0.25]
    assert [s.value for s in second.samples] == [4.0]
    assert second.samples[0].metric == "query"
    assert second.samples[0].ci is None  # no template, no CI


def test_missing_template_label_leaves_the_series_unbound(
    metrics_exporter: Exporter, prometheus: PrometheusPeer
) -> None:
    _temperature(metrics_exporter, {"ward-3": 20.0})
    prometheus.wait_for(TEMPERATURE)
    query = PrometheusQuery(name="t", promql=f"sum({TEMPERATURE})", ci="{ci}")
    result = asyncio.run(poll_prometheus(prometheus.url, [query], timeout=5.0))
    assert [(s.value, s.ci, dict(s.labels)) for s in result.samples] == [(20.0, None, {})]


def test_range_query_is_split_under_the_points_limit(prometheus: PrometheusPeer) -> None:
    # time() answers at every step whatever the TSDB holds, and its value is the step's
    # own timestamp: a split that shifted the grid or lost a piece shows up as a mismatch.
    at = datetime.now(UTC)
    range_seconds, step = 25.0, 0.001
    expected_points = int(range_seconds / step) + 1  # 25,001 → 3 requests of ≤ 11,000

    # Prometheus itself refuses the range in one request.
    refused = httpx.post(
        f"{prometheus.url}/api/v1/query_range",
        data={"query": "time()", "start": "1000", "end": "1025", "step": "0.001"},
        timeout=10.0,
    )
    assert refused.status_code == 400
    assert "11,000 points" in refused.json()["error"]

    before = prometheus.requests_served("/api/v1/query_range")
    result = asyncio.run(
        poll_prometheus(
            prometheus.url,
            [
                PrometheusQuery(
                    name="clock", promql="time()", range_seconds=range_seconds, step_seconds=step
                )
            ],
            at=at,
            timeout=10.0,
        )
    )
    requests = prometheus.requests_served("/api/v1/query_range") - before

    assert requests == math.ceil(expected_points / 11_000) == 3
    stamps = [s.ts for s in result.samples]
    assert len(stamps) == expected_points
    assert all(b - a == timedelta(milliseconds=1) for a, b in itertools.pairwise(stamps))
    assert all(round(s.value * 1000) == round(s.ts.timestamp() * 1000) for s in result.samples)
    assert stamps[-1] <= at


def test_a_smaller_configured_limit_makes_more_requests(
    metrics_exporter: Exporter, prometheus: PrometheusPeer
) -> None:
    _temperature(metrics_exporter, {"ward-3": 22.0})
    # Four scrapes a second apart: the series covers the whole 2 s range asked below.
    prometheus.wait_for(f"count_over_time({TEMPERATURE}[10s]) >= 4")
    before = prometheus.requests_served("/api/v1/query_range")
    query = PrometheusQuery(
        name="temp", promql=TEMPERATURE, range_seconds=2.0, step_seconds=0.1, ci="{ci}"
    )
    result = asyncio.run(poll_prometheus(prometheus.url, [query], max_points=5, timeout=5.0))
    requests = prometheus.requests_served("/api/v1/query_range") - before

    assert requests == 5  # 21 points, 5 per request
    assert len(result.samples) == 21
    assert {s.ci for s in result.samples} == {CIRef("prometheus", "ward-3")}
    assert {s.value for s in result.samples} == {22.0}


def test_bad_promql_is_a_protocol_error_naming_the_query(prometheus: PrometheusPeer) -> None:
    query = PrometheusQuery(name="broken", promql="sum(rate(up[1m])")
    with pytest.raises(ProtocolError) as caught:
        asyncio.run(poll_prometheus(prometheus.url, [query], timeout=5.0))
    assert "HTTP 400" in caught.value.detail
    assert "bad_data" in caught.value.detail
    assert "'broken'" in caught.value.detail
    assert caught.value.reason == "protocol_error"


def test_nobody_listening_is_unreachable() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(TargetUnreachable):
        asyncio.run(poll_prometheus(url, ["up"], timeout=2.0))


def test_a_silent_server_times_out_as_unreachable() -> None:
    # Accepts the connection (kernel backlog) but never answers.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(TargetUnreachable) as caught:
            asyncio.run(poll_prometheus(url, ["up"], timeout=0.5))
    assert "Timeout" in caught.value.detail


def test_something_that_is_not_prometheus_is_a_protocol_error(
    metrics_exporter: Exporter,
) -> None:
    # The exporter answers any path with its text exposition, not the API's JSON.
    with pytest.raises(ProtocolError) as caught:
        asyncio.run(poll_prometheus(f"http://{metrics_exporter.address}", ["up"], timeout=5.0))
    assert "not a Prometheus API answer" in caught.value.detail


def test_basic_auth_and_authentication_failures(prometheus_factory: PrometheusFactory) -> None:
    peer = prometheus_factory(scrape_self=True, basic_auth=("fulcrum", "s3cret"))
    peer.wait_for("up")

    ok = asyncio.run(
        poll_prometheus(peer.url, ["up"], basic_auth=("fulcrum", "s3cret"), timeout=5.0)
    )
    assert [s.value for s in ok.samples] == [1.0]

    for credentials in (
        {"basic_auth": ("fulcrum", "wrong")},
        {"token": "not-a-basic-auth-server"},
        {},
    ):
        with pytest.raises(AuthenticationFailed) as caught:
            asyncio.run(poll_prometheus(peer.url, ["up"], timeout=5.0, **credentials))
        assert "HTTP 401" in caught.value.detail
        assert "s3cret" not in str(caught.value)


def test_credentials_in_the_url_never_reach_the_error(prometheus: PrometheusPeer) -> None:
    url = f"http://user:topsecret@127.0.0.1:{prometheus.port}"
    with pytest.raises(ProtocolError) as caught:
        asyncio.run(poll_prometheus(url, ["sum("], timeout=5.0))
    assert "topsecret" not in str(caught.value)
    assert caught.value.target == f"http://127.0.0.1:{prometheus.port}"


def test_https_with_a_ca_bundle_and_an_untrusted_certificate(
    tmp_path: Path, prometheus_factory: PrometheusFactory
) -> None:
    tls = make_tls(tmp_path / "tls")
    peer = prometheus_factory(scrape_self=True, tls=tls)
    assert peer.url.startswith("https://")
    peer.wait_for("up == 1")

    trusted = asyncio.run(poll_prometheus(peer.url, ["up"], verify=str(tls.ca_file), timeout=5.0))
    assert [s.value for s in trusted.samples] == [1.0]

    # The system CAs do not know the test CA: that is a configuration error, not an outage.
    with pytest.raises(ProtocolError) as caught:
        asyncio.run(poll_prometheus(peer.url, ["up"], timeout=5.0))
    assert "certificate" in caught.value.detail
