"""Alertmanager webhook payloads (version 4) built the way Alertmanager 0.25 builds them.

The fingerprint is Prometheus' ``LabelSet.Fingerprint``: FNV-1a 64 over the labels
sorted by name, each name and value followed by the 0xFF separator, printed as 16 hex
digits — so a payload built here names an alert exactly as a real Alertmanager would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_MASK = 0xFFFFFFFFFFFFFFFF
_SEPARATOR = b"\xff"
GO_ZERO_TIME = "0001-01-01T00:00:00Z"


def fingerprint(labels: Mapping[str, str]) -> str:
    """Alertmanager's fingerprint of a label set."""
    value = _FNV_OFFSET
    for name in sorted(labels):
        for chunk in (name.encode(), _SEPARATOR, labels[name].encode(), _SEPARATOR):
            for byte in chunk:
                value ^= byte
                value = (value * _FNV_PRIME) & _MASK
    return f"{value:016x}"


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def am_alert(
    labels: Mapping[str, str],
    *,
    status: str = "firing",
    starts_at: datetime,
    ends_at: datetime | None = None,
    annotations: Mapping[str, str] | None = None,
    generator_url: str = "http://127.0.0.1:9090/graph",
) -> dict[str, Any]:
    """One alert of a notification: a firing one has Go's zero time as ``endsAt``."""
    return {
        "status": status,
        "labels": dict(labels),
        "annotations": dict(annotations or {}),
        "startsAt": rfc3339(starts_at),
        "endsAt": rfc3339(ends_at) if ends_at is not None else GO_ZERO_TIME,
        "generatorURL": generator_url,
        "fingerprint": fingerprint(labels),
    }


def notification(
    alerts: Sequence[Mapping[str, Any]],
    *,
    group_labels: Mapping[str, str] | None = None,
    receiver: str = "fulcrum",
    external_url: str = "http://127.0.0.1:9093",
) -> dict[str, Any]:
    """The webhook body for one alert group (``status`` firing if any alert fires)."""
    group = dict(group_labels or {})
    label_sets = [a["labels"] for a in alerts]
    common = (
        {k: v for k, v in label_sets[0].items() if all(s.get(k) == v for s in label_sets)}
        if label_sets
        else {}
    )
    firing = any(a["status"] == "firing" for a in alerts)
    group_key = "{}:{" + ", ".join(f'{k}="{v}"' for k, v in sorted(group.items())) + "}"
    return {
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": receiver,
        "groupLabels": group,
        "commonLabels": common,
        "commonAnnotations": {},
        "externalURL": external_url,
        "alerts": [dict(a) for a in alerts],
    }
