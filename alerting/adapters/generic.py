"""The generic JSON alert endpoint: any tool that can POST a list of alerts.

::

    {"source": "zabbix-bridge",
     "alerts": [{"name": "LinkDown", "severity": "critical", "status": "firing",
                 "labels": {"instance": "10.20.0.1", "ifName": "ge-0/0/1"},
                 "annotations": {"summary": "Uplink down"},
                 "fingerprint": "optional-stable-id",
                 "starts_at": "2024-05-01T08:00:00+08:00"}]}

Without a ``fingerprint`` one is computed: a stable hash of ``source`` and the labels
(with ``alertname`` = ``name`` added), so the same alert from the same tool is always
the same alert. ``starts_at`` defaults to the time of receipt; times must carry a zone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from alerting.adapters.common import (
    HARD_MAX_ALERTS,
    Annotations,
    Fingerprint,
    Labels,
    ShortText,
    Time,
    Url,
    delivery_digest,
    label_fingerprint,
    severity_of,
)
from alerting.canonical import AlertSourceKind, AlertStatus, CanonicalAlert

SOURCE = AlertSourceKind.GENERIC
SourceName = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")
]


class GenericAlert(BaseModel):
    """One alert from a generic source."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[ShortText, StringConstraints(min_length=1)]
    status: AlertStatus = AlertStatus.FIRING
    severity: Annotated[str, StringConstraints(max_length=32)] = Field(
        default="warning",
        description="critical, major, warning or info (common synonyms accepted; "
        "anything else is warning).",
    )
    labels: Labels = Field(default_factory=dict)
    annotations: Annotations = Field(default_factory=dict)
    fingerprint: Fingerprint | None = Field(
        default=None, description="A stable id of the alert; computed from the labels if absent."
    )
    starts_at: Time | None = None
    ends_at: Time | None = None
    generator_url: Url | None = None

    def to_canonical(self, source: str, now: datetime) -> CanonicalAlert:
        labels = {"alertname": self.name, **self.labels}
        fingerprint = self.fingerprint or label_fingerprint(source, labels)
        return CanonicalAlert(
            source=SOURCE,
            fingerprint=fingerprint,
            status=self.status,
            severity=severity_of(self.severity),
            name=self.name,
            starts_at=self.starts_at or now,
            labels=labels,
            annotations=dict(self.annotations),
            ends_at=(self.ends_at or now) if self.status == AlertStatus.RESOLVED else None,
            generator_url=self.generator_url or None,
        )


class GenericPayload(BaseModel):
    """A batch of alerts from one tool (``source`` names the tool; default ``generic``)."""

    model_config = ConfigDict(extra="forbid")

    source: SourceName = "generic"
    alerts: Annotated[list[GenericAlert], Field(min_length=1, max_length=HARD_MAX_ALERTS)]

    def to_canonical(self, now: datetime) -> list[CanonicalAlert]:
        return [alert.to_canonical(self.source, now) for alert in self.alerts]

    def digest(self) -> str:
        return delivery_digest(SOURCE.value, self.model_dump_json())
