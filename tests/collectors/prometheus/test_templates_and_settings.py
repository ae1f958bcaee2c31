"""Label templates and the [prometheus] settings, and a poll driven by them."""

from __future__ import annotations

import asyncio
import json

import pytest
from pydantic import ValidationError

from collectors.prometheus.api import range_windows
from collectors.prometheus.poll import poll_with_settings
from collectors.prometheus.settings import PrometheusQuery, PrometheusSettings
from collectors.prometheus.templates import LabelTemplate
from collectors.samples import CIRef
from itsm_core.settings import Settings
from tests.peers.exporter import Exporter
from tests.peers.prometheus import PrometheusPeer


@pytest.mark.parametrize(
    ("template", "labels", "expected"),
    [
        ("{instance}", {"instance": "10.1.2.3:9100"}, "10.1.2.3:9100"),
        ("{instance|host}", {"instance": "10.1.2.3:9100"}, "10.1.2.3"),
        ("{instance|host}", {"instance": "[fe80::1]:9100"}, "fe80::1"),
        ("{instance|host}", {"instance": "fe80::1"}, "fe80::1"),
        ("{instance | host | upper}", {"instance": "core-sw1:161"}, "CORE-SW1"),
        ("pve/{node}/{vmid}", {"node": "pve1", "vmid": "101"}, "pve/pve1/101"),
        ("{ci}", {"instance": "x"}, None),
        ("{ci}", {"ci": ""}, None),
    ],
)
def test_templates_render(template: str, labels: dict[str, str], expected: str | None) -> None:
    assert LabelTemplate(template).render(labels) == expected


@pytest.mark.parametrize(
    "bad", ["{instance", "{inst-ance}", "{instance|strip}", "}{ci}", "{0}", "{a.__class__}"]
)
def test_bad_templates_are_refused_at_configuration(bad: str) -> None:
    with pytest.raises(ValidationError):
        PrometheusQuery(name="x", promql="up", ci=bad)


def test_ci_ref_uses_the_configured_source() -> None:
    ref = LabelTemplate("{instance|host}").ci_ref({"instance": "h:1"}, "snmp")
    assert ref == CIRef("snmp", "h")


@pytest.mark.parametrize(
    ("start", "end", "step", "limit", "expected"),
    [
        (0, 10, 1, 11, [(0, 10)]),
        (0, 10, 1, 5, [(0, 4), (5, 9), (10, 10)]),
        (0, 11, 2, 3, [(0, 4), (6, 10)]),
        (5, 5, 1, 11_000, [(5, 5)]),
        (0, 25_000, 1, 11_000, [(0, 10_999), (11_000, 21_999), (22_000, 25_000)]),
    ],
)
def test_range_windows_keep_the_step_grid(
    start: int, end: int, step: int, limit: int, expected: list[tuple[int, int]]
) -> None:
    windows = list(range_windows(start, end, step, limit))
    assert windows == expected
    assert all((e - s) // step + 1 <= limit for s, e in windows)


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FULCRUM_PROMETHEUS_URL", "http://127.0.0.1:9090")
    monkeypatch.setenv("FULCRUM_PROMETHEUS_BEARER_TOKEN", "s3cr3t-tok")
    monkeypatch.setenv(
        "FULCRUM_PROMETHEUS_QUERIES",
        json.dumps([{"name": "load", "promql": "node_load1", "ci": "{instance|host}"}]),
    )
    config = Settings().section(PrometheusSettings)
    assert config.token() == "s3cr3t-tok"
    assert config.queries[0].template() is not None
    assert "s3cr3t-tok" not in json.dumps(Settings().describe()["prometheus"], default=str)


def test_settings_refuse_two_kinds_of_auth() -> None:
    with pytest.raises(ValidationError):
        PrometheusSettings(bearer_token="t", username="u", password="p")
    with pytest.raises(ValidationError):
        PrometheusSettings(username="u")
    with pytest.raises(ValidationError):
        PrometheusSettings(url="ftp://x")


def test_poll_with_settings(metrics_exporter: Exporter, prometheus: PrometheusPeer) -> None:
    gauge = metrics_exporter.gauge("pump_battery_ratio", "Infusion pump battery.", ["asset"])
    gauge.labels("IP-0042").set(0.8)
    prometheus.wait_for("pump_battery_ratio")
    settings = Settings(
        {
            "prometheus": {
                "url": prometheus.url,
                "queries": [
                    {
                        "name": "battery",
                        "promql": "pump_battery_ratio",
                        "ci": "{asset}",
                        "ci_source": "name",
                    }
                ],
            }
        }
    )
    result = asyncio.run(poll_with_settings(settings.section(PrometheusSettings)))
    assert [(s.metric, s.value, s.ci) for s in result.samples] == [
        ("battery", 0.8, CIRef("name", "IP-0042"))
    ]
