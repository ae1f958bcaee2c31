"""Alertmanager's webhook payload (version 4, as sent by Alertmanager 0.25) → canonical alerts.

Alertmanager posts one notification per alert group::

    {"version": "4", "groupKey": "{}:{alertname=\\"NodeDown\\"}", "truncatedAlerts": 0,
     "status": "firing", "receiver": "fulcrum", "groupLabels": {...},
     "commonLabels": {...}, "commonAnnotations": {...}, "externalURL": "http://am:9093",
     "alerts": [{"status": "firing", "labels": {...}, "annotations": {...},
                 "startsAt": "2024-05-01T08:00:00.123Z", "endsAt": "0001-01-01T00:00:00Z",
                 "generatorURL": "http://prometheus:9090/graph?g0.expr=...",
                 "fingerprint": "3f2b9c1d0e4a5b6c"}]}

Newer Alertmanagers may add ``notification_reason`` and ``routeLabels``; unknown fields
are ignored so a newer sender is not refused. Go's zero time ``0001-01-01T00:00:00Z``
means "not set". ``severity`` comes from the ``severity`` label (unknown → warning), the
name from ``alertname``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

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
    unset_is_none,
)
from alerting.canonical import AlertSourceKind, AlertStatus, CanonicalAlert
from itsm_core.timeutil import utcnow

SOURCE = AlertSourceKind.ALERTMANAGER
NO_NAME = "(no alertname)"


class _Payload(BaseModel):
    # Forward compatible: fields a newer Alertmanager adds are ignored, not refused.
    model_config = ConfigDict(extra="ignore")


class AlertmanagerAlert(_Payload):
    """One alert of the group."""

    status: AlertStatus
    labels: Labels
    annotations: Annotations = Field(default_factory=dict)
    starts_at: Time = Field(alias="startsAt")
    ends_at: Time | None = Field(default=None, alias="endsAt")
    generator_url: Url | None = Field(default=None, alias="generatorURL")
    fingerprint: Fingerprint | None = Field(
        default=None, description="Alertmanager's hash of the labels (computed if absent)."
    )

    def to_canonical(self) -> CanonicalAlert:
        labels = dict(self.labels)
        ends_at = unset_is_none(self.ends_at)
        return CanonicalAlert(
            source=SOURCE,
            fingerprint=self.fingerprint or label_fingerprint(SOURCE.value, labels)[:32],
            status=self.status,
            severity=severity_of(labels.get("severity")),
            name=(labels.get("alertname") or NO_NAME)[:200],
            starts_at=unset_is_none(self.starts_at) or ends_at or utcnow(),
            labels=labels,
            annotations=dict(self.annotations),
            # A firing alert's endsAt is only Alertmanager's expiry guess, not an end.
            ends_at=ends_at if self.status == AlertStatus.RESOLVED else None,
            generator_url=self.generator_url or None,
        )


class AlertmanagerPayload(_Payload):
    """The webhook body Alertmanager's ``webhook_configs`` receiver posts (version 4)."""

    version: Annotated[str, Field(max_length=16)] = "4"
    receiver: ShortText = ""
    status: AlertStatus
    alerts: Annotated[list[AlertmanagerAlert], Field(max_length=HARD_MAX_ALERTS)]
    group_labels: Labels = Field(default_factory=dict, alias="groupLabels")
    common_labels: Labels = Field(default_factory=dict, alias="commonLabels")
    common_annotations: Annotations = Field(default_factory=dict, alias="commonAnnotations")
    external_url: Url = Field(default="", alias="externalURL")
    group_key: Annotated[str, Field(max_length=8192)] = Field(default="", alias="groupKey")
    truncated_alerts: Annotated[int, Field(ge=0, le=2**31 - 1)] = Field(
        default=0, alias="truncatedAlerts"
    )
    notification_reason: ShortText | None = None
    route_labels: Labels | None = Field(default=None, alias="routeLabels")

    def to_canonical(self) -> list[CanonicalAlert]:
        return [alert.to_canonical() for alert in self.alerts]

    def digest(self) -> str:
        """The digest of this delivery's content (whitespace and key order aside)."""
        return delivery_digest(SOURCE.value, self.model_dump_json())
