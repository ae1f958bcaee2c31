"""The Alertmanager v4 and generic payload models, and their mapping onto canonical alerts."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from alerting.adapters.alertmanager import AlertmanagerPayload
from alerting.adapters.common import label_fingerprint, severity_of
from alerting.adapters.generic import GenericPayload
from alerting.canonical import AlertSourceKind, AlertStatus, Severity
from tests.alerting.intake.helpers import T0, am_alert, am_payload, minutes

# A body as Alertmanager 0.25 posts it, byte for byte in its field order.
REAL_BODY = """{"receiver":"fulcrum","status":"resolved","alerts":[{"status":"resolved",
"labels":{"alertname":"NodeFilesystemSpaceFillingUp","device":"/dev/sda1","instance":"pacs-01:9100",
"job":"node","mountpoint":"/","severity":"warning"},"annotations":{"summary":"Filesystem is
predicted to run out of space within the next 24 hours."},
"startsAt":"2024-05-01T08:00:00.123456789Z","endsAt":"2024-05-01T09:30:00.5Z","generatorURL":"http://prometheus:9090/graph?g0.expr=x&g0.tab=1",
"fingerprint":"3f2b9c1d0e4a5b6c"},{"status":"firing","labels":{"alertname":"NodeFilesystemSpaceFillingUp",
"instance":"his-db:9100","job":"node","severity":"critical"},"annotations":{},
"startsAt":"2024-05-01T08:10:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"",
"fingerprint":"aa00bb11cc22dd33"}],"groupLabels":{"alertname":"NodeFilesystemSpaceFillingUp"},
"commonLabels":{"alertname":"NodeFilesystemSpaceFillingUp","job":"node"},"commonAnnotations":{},
"externalURL":"http://alertmanager:9093","version":"4",
"groupKey":"{}:{alertname=\\"NodeFilesystemSpaceFillingUp\\"}","truncatedAlerts":0}""".replace(
    "\n", " "
)


def test_real_alertmanager_body_maps_onto_canonical_alerts() -> None:
    payload = AlertmanagerPayload.model_validate_json(REAL_BODY)
    assert payload.group_key == '{}:{alertname="NodeFilesystemSpaceFillingUp"}'
    first, second = payload.to_canonical()
    assert first.source == AlertSourceKind.ALERTMANAGER
    assert first.fingerprint == "3f2b9c1d0e4a5b6c"
    assert first.status == AlertStatus.RESOLVED
    assert first.severity == Severity.WARNING
    assert first.name == "NodeFilesystemSpaceFillingUp"
    assert first.starts_at == datetime(2024, 5, 1, 8, 0, 0, 123456, tzinfo=UTC)
    assert first.ends_at == datetime(2024, 5, 1, 9, 30, 0, 500000, tzinfo=UTC)
    assert first.labels["instance"] == "pacs-01:9100"
    assert first.generator_url is not None
    assert first.generator_url.startswith("http://")
    # Go's zero time means "no end"; an empty generatorURL means none.
    assert second.status == AlertStatus.FIRING
    assert second.ends_at is None
    assert second.generator_url is None
    assert second.severity == Severity.CRITICAL


def test_firing_alerts_ignore_alertmanagers_expiry_guess() -> None:
    body = am_payload([am_alert("NodeDown", "a:9100", ends=T0 + minutes(5))])
    (alert,) = AlertmanagerPayload.model_validate(body).to_canonical()
    assert alert.ends_at is None


def test_newer_fields_are_accepted_and_unknown_ones_ignored() -> None:
    body = am_payload(
        [am_alert("NodeDown", "a:9100")],
        notification_reason="repeat",
        routeLabels={"team": "noc"},
        somethingNew={"x": 1},
    )
    payload = AlertmanagerPayload.model_validate(body)
    assert payload.notification_reason == "repeat"
    assert payload.route_labels == {"team": "noc"}


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("critical", Severity.CRITICAL),
        ("Critical", Severity.CRITICAL),
        ("page", Severity.CRITICAL),
        ("major", Severity.MAJOR),
        ("error", Severity.MAJOR),
        ("warning", Severity.WARNING),
        ("info", Severity.INFO),
        ("none", Severity.INFO),
        ("bizarre", Severity.WARNING),
        ("", Severity.WARNING),
        (None, Severity.WARNING),
    ],
)
def test_severity_words(word: str | None, expected: Severity) -> None:
    assert severity_of(word) == expected


def test_missing_alertname_and_fingerprint_still_give_a_stable_alert() -> None:
    raw = am_alert("X", "a:1")
    del raw["labels"]["alertname"]
    del raw["fingerprint"]
    (one,) = AlertmanagerPayload.model_validate(am_payload([raw])).to_canonical()
    raw["labels"] = dict(reversed(list(raw["labels"].items())))
    (two,) = AlertmanagerPayload.model_validate(am_payload([raw])).to_canonical()
    assert one.name == "(no alertname)"
    assert one.fingerprint == two.fingerprint


@pytest.mark.parametrize(
    "breakage",
    [
        lambda b: b.pop("alerts"),
        lambda b: b.pop("status"),
        lambda b: b["alerts"][0].update(status="exploded"),
        lambda b: b["alerts"][0].pop("startsAt"),
        lambda b: b["alerts"][0].update(startsAt="2024-05-01T08:00:00"),  # no zone
        lambda b: b["alerts"][0].update(startsAt="yesterday"),
        lambda b: b["alerts"][0]["labels"].update(instance="a\x00b"),
        lambda b: b["alerts"][0]["labels"].update({f"l{i}": "v" for i in range(101)}),
        lambda b: b["alerts"][0].update(fingerprint="has space"),
        lambda b: b["alerts"][0].update(labels="not a map"),
        lambda b: b.update(truncatedAlerts=-1),
    ],
)
def test_malformed_alertmanager_bodies_are_refused(breakage: object) -> None:
    body = am_payload([am_alert("NodeDown", "a:9100")])
    breakage(body)  # type: ignore[operator]
    with pytest.raises(ValidationError):
        AlertmanagerPayload.model_validate_json(json.dumps(body))


def test_digest_ignores_whitespace_and_key_order_but_not_content() -> None:
    body = am_payload([am_alert("NodeDown", "a:9100")])
    compact = AlertmanagerPayload.model_validate_json(json.dumps(body, separators=(",", ":")))
    spaced = AlertmanagerPayload.model_validate_json(json.dumps(body, indent=4, sort_keys=True))
    assert compact.digest() == spaced.digest()
    body["alerts"][0]["status"] = "resolved"
    changed = AlertmanagerPayload.model_validate_json(json.dumps(body))
    assert changed.digest() != compact.digest()


def test_generic_payload_computes_a_stable_fingerprint_from_source_and_labels() -> None:
    now = T0
    one = GenericPayload.model_validate(
        {"source": "zabbix", "alerts": [{"name": "LinkDown", "labels": {"a": "1", "b": "2"}}]}
    ).to_canonical(now)[0]
    two = GenericPayload.model_validate(
        {"source": "zabbix", "alerts": [{"name": "LinkDown", "labels": {"b": "2", "a": "1"}}]}
    ).to_canonical(now + minutes(3))[0]
    other = GenericPayload.model_validate(
        {"source": "nagios", "alerts": [{"name": "LinkDown", "labels": {"a": "1", "b": "2"}}]}
    ).to_canonical(now)[0]
    assert one.fingerprint == two.fingerprint != other.fingerprint
    assert one.fingerprint == label_fingerprint(
        "zabbix", {"alertname": "LinkDown", "a": "1", "b": "2"}
    )
    assert one.source == AlertSourceKind.GENERIC
    assert one.severity == Severity.WARNING
    assert one.starts_at == now
    assert one.labels["alertname"] == "LinkDown"


def test_generic_payload_explicit_fingerprint_severity_and_resolution() -> None:
    (alert,) = GenericPayload.model_validate(
        {
            "alerts": [
                {
                    "name": "UPSOnBattery",
                    "severity": "disaster",
                    "status": "resolved",
                    "fingerprint": "ups-7",
                    "starts_at": "2031-03-03T08:00:00+08:00",
                }
            ]
        }
    ).to_canonical(T0)
    assert alert.fingerprint == "ups-7"
    assert alert.severity == Severity.CRITICAL
    assert alert.status == AlertStatus.RESOLVED
    assert alert.ends_at == T0
    assert alert.starts_at == datetime(2031, 3, 3, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "body",
    [
        {"alerts": []},
        {"alerts": [{"severity": "critical"}]},
        {"alerts": [{"name": ""}]},
        {"alerts": [{"name": "x", "unexpected": 1}]},
        {"alerts": [{"name": "x", "starts_at": "0001-01-01T00:00:00+05:00"}]},
        {"source": "has space", "alerts": [{"name": "x"}]},
    ],
)
def test_malformed_generic_bodies_are_refused(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        GenericPayload.model_validate(body)
