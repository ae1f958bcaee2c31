"""Builders for alert-intake tests: Alertmanager 0.25-shaped payloads, canonical alerts,
a small CMDB estate (a township router with village-clinic CPEs behind it, a PACS VM on a
Proxmox node) and a one-transaction ``run`` of the pipeline."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from alerting.canonical import AlertSourceKind, AlertStatus, CanonicalAlert, Severity
from alerting.intake import IngestResult, ingest
from alerting.intake_models import Alert, AlertOccurrence
from itsm_core.actor import SYSTEM
from itsm_core.cmdb import service as cmdb
from itsm_core.cmdb.choices import RelationType
from itsm_core.cmdb.models import ConfigurationItem
from itsm_core.cmdb.relationships import ensure_relationship
from itsm_core.incidents import timeline
from itsm_core.incidents.choices import TimelineKind
from itsm_core.incidents.models import Incident, TimelineEntry
from itsm_core.settings import Settings

T0 = datetime(2031, 3, 3, 8, 0, tzinfo=UTC)
GO_ZERO_TIME = "0001-01-01T00:00:00Z"
_seq = itertools.count(1)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def iso(at: datetime) -> str:
    """Alertmanager's time format (Go's RFC 3339 with nanoseconds, UTC)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"


def am_fingerprint(labels: Mapping[str, str]) -> str:
    """A 16-hex-digit hash of the labels, the form Alertmanager's fingerprints take."""
    text = "\xff".join(f"{k}\xff{v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def am_alert(
    name: str,
    instance: str | None = None,
    *,
    status: str = "firing",
    starts: datetime = T0,
    ends: datetime | None = None,
    severity: str = "critical",
    **labels: str,
) -> dict[str, Any]:
    """One alert as Alertmanager 0.25 writes it into a webhook."""
    all_labels = {"alertname": name, "job": "node", "severity": severity, **labels}
    if instance is not None:
        all_labels["instance"] = instance
    return {
        "status": status,
        "labels": all_labels,
        "annotations": {"summary": f"{name} on {instance}", "description": "from the test"},
        "startsAt": iso(starts),
        "endsAt": iso(ends) if ends is not None else GO_ZERO_TIME,
        "generatorURL": "http://prometheus.local:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1",
        "fingerprint": am_fingerprint(all_labels),
    }


def am_payload(alerts: Sequence[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """A whole webhook body (version 4) around ``alerts``, grouped by alertname."""
    names = sorted({a["labels"].get("alertname", "") for a in alerts}) or ["none"]
    common = {
        k: v
        for k, v in (alerts[0]["labels"].items() if alerts else [])
        if all(a["labels"].get(k) == v for a in alerts)
    }
    body = {
        "receiver": "fulcrum",
        "status": "firing" if any(a["status"] == "firing" for a in alerts) else "resolved",
        "alerts": list(alerts),
        "groupLabels": {"alertname": names[0]},
        "commonLabels": common,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.local:9093",
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{names[0]}"}}',
        "truncatedAlerts": 0,
    }
    body.update(extra)
    return body


def alert(
    fingerprint: str,
    *,
    instance: str | None = None,
    status: AlertStatus = AlertStatus.FIRING,
    starts: datetime = T0,
    name: str = "DeviceDown",
    severity: Severity = Severity.CRITICAL,
    source: AlertSourceKind = AlertSourceKind.ALERTMANAGER,
    ci_id: int | None = None,
    **labels: str,
) -> CanonicalAlert:
    """A canonical alert (what any adapter produces)."""
    all_labels = {"alertname": name, **labels}
    if instance is not None:
        all_labels["instance"] = instance
    return CanonicalAlert(
        source=source,
        fingerprint=fingerprint,
        status=status,
        severity=severity,
        name=name,
        starts_at=starts,
        labels=all_labels,
        annotations={"summary": f"{name} on {instance}"},
        ends_at=None,
        ci_id=ci_id,
    )


def resolved(firing: CanonicalAlert, at: datetime | None = None) -> CanonicalAlert:
    """The resolved copy of ``firing`` (same startsAt, as Alertmanager sends it)."""
    return CanonicalAlert(
        source=firing.source,
        fingerprint=firing.fingerprint,
        status=AlertStatus.RESOLVED,
        severity=firing.severity,
        name=firing.name,
        starts_at=firing.starts_at,
        labels=firing.labels,
        annotations=firing.annotations,
        ends_at=at or firing.starts_at + minutes(1),
        ci_id=firing.ci_id,
    )


def refired(previous: CanonicalAlert, at: datetime) -> CanonicalAlert:
    """The same alert firing again later (a new startsAt)."""
    return CanonicalAlert(
        source=previous.source,
        fingerprint=previous.fingerprint,
        status=AlertStatus.FIRING,
        severity=previous.severity,
        name=previous.name,
        starts_at=at,
        labels=previous.labels,
        annotations=previous.annotations,
        ci_id=previous.ci_id,
    )


def run(
    sessions: sessionmaker[Session],
    settings: Settings,
    alerts: Sequence[CanonicalAlert],
    now: datetime,
) -> IngestResult:
    """One delivery: ``ingest`` in its own committed transaction."""
    with sessions() as session, session.begin():
        return ingest(session, alerts, settings=settings, now=now)


def with_alerting(settings: Settings, **alerting: Any) -> Settings:
    """``settings`` with some ``[alerting]`` values changed."""
    url = settings.database.url.get_secret_value()
    return Settings({"database": {"url": url}, "alerting": alerting})


@dataclass
class Estate:
    """CI ids of the small estate."""

    router: int
    cpes: list[int]
    clinic_service: int
    node: int
    pacs: int
    switch: int


def build_estate(sessions: sessionmaker[Session], cpes: int = 3) -> Estate:
    """A township router with ``cpes`` village-clinic CPEs ``connected_to`` it; a
    telemedicine service depending on the CPEs; a PACS VM (hostname ``pacs-01``, Proxmox
    node ``pve1`` VM 101) on node ``pve1``; a core switch with ``sys_name`` only."""
    with sessions() as s, s.begin():
        router = cmdb.create_ci(
            s,
            SYSTEM,
            {
                "class": "network_device",
                "name": "township-router-3",
                "management_address": "10.20.0.1",
                "attributes": {"role": "router"},
            },
        )
        cpe_rows = [
            cmdb.create_ci(
                s,
                SYSTEM,
                {
                    "class": "network_device",
                    "name": f"clinic-cpe-{i}",
                    "management_address": f"10.20.1.{i}",
                    "attributes": {"role": "cpe"},
                },
            )
            for i in range(1, cpes + 1)
        ]
        for cpe in cpe_rows:
            ensure_relationship(s, SYSTEM, cpe, RelationType.CONNECTED_TO, router)
        service = cmdb.create_ci(
            s,
            SYSTEM,
            {"class": "business_service", "name": "telemedicine", "criticality": "high"},
        )
        for cpe in cpe_rows:
            ensure_relationship(s, SYSTEM, service, RelationType.DEPENDS_ON, cpe)
        node = cmdb.create_ci(s, SYSTEM, {"class": "hypervisor_node", "name": "pve1"})
        pacs = cmdb.create_ci(
            s,
            SYSTEM,
            {
                "class": "vm",
                "name": "PACS image server",
                "attributes": {"hostname": "pacs-01", "node": "pve1", "vmid": 101},
            },
        )
        ensure_relationship(s, SYSTEM, pacs, RelationType.RUNS_ON, node)
        switch = cmdb.create_ci(
            s,
            SYSTEM,
            {
                "class": "network_device",
                "name": "core-sw",
                "attributes": {"sys_name": "CORE-SW-01"},
            },
        )
        return Estate(router.id, [c.id for c in cpe_rows], service.id, node.id, pacs.id, switch.id)


def alert_row(session: Session, fingerprint: str) -> Alert:
    row = session.scalar(select(Alert).where(Alert.fingerprint == fingerprint))
    assert row is not None, f"no alert {fingerprint}"
    return row


def count(session: Session, model: type[Any]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def incidents(session: Session) -> list[Incident]:
    return list(session.scalars(select(Incident).order_by(Incident.id)))


def alert_notes(session: Session, incident_id: int) -> list[TimelineEntry]:
    return timeline.entries(session, incident_id, [TimelineKind.ALERT])


def occurrences(session: Session, alert_id: int) -> list[AlertOccurrence]:
    stmt = select(AlertOccurrence).where(AlertOccurrence.alert_id == alert_id)
    return list(session.scalars(stmt.order_by(AlertOccurrence.seq)))


def ci(session: Session, ci_id: int) -> ConfigurationItem:
    return session.get_one(ConfigurationItem, ci_id)
