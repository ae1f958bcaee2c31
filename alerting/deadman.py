"""The dead-man switch on Alertmanager's always-firing ``Watchdog`` alert.

Prometheus setups ship an alert that always fires (``Watchdog``, renamed with
``[alerting] deadman_alert_name``) precisely so that its *absence* says the chain
Prometheus → Alertmanager → Fulcrum is broken. Fulcrum:

- records each firing heartbeat (it is not stored as an alert and opens nothing);
- checks, in the background job ``run_deadman_check`` (every minute in ``fulcrum
  serve``), whether the last heartbeat is older than ``deadman_interval_minutes``;
  then it opens **one** incident about its own alert pipeline (routed like any alert
  named ``FulcrumAlertPipelineSilent``, severity critical) and queues a ``deadman``
  notification. One gap opens one incident: not again while it is open, nor after the
  NOC resolved it while the heartbeat is still missing;
- when heartbeats come back, the next check writes it on the incident's timeline and,
  with ``deadman_auto_resolve`` (default), resolves it (``self_recovered``) — the NOC
  still reads that alerts raised during the gap may have been lost upstream. Without
  it the incident waits for the NOC.

The switch arms itself on the first heartbeat: a Fulcrum no Alertmanager talks to yet
raises nothing. ``GET /api/v1/alerts/deadman`` and ``fulcrum alerts deadman`` show it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerting.actor import ALERTING
from alerting.canonical import AlertSourceKind, AlertStatus, CanonicalAlert, Severity
from alerting.choices import Binding
from alerting.intake_models import AlertIncident, DeadmanHeartbeat
from alerting.links import note
from alerting.locks import is_postgres, lock_incidents
from alerting.notifications.outbox import NotificationEvent, notify_incident
from alerting.opening import open_incident
from alerting.settings import AlertingSettings
from itsm_core.incidents import lifecycle
from itsm_core.incidents.choices import OPEN_STATES, IncidentState, ResolutionCode
from itsm_core.incidents.models import Incident, format_number
from itsm_core.incidents.priority import PriorityMatrix
from itsm_core.settings import Settings

PIPELINE_ALERT = "FulcrumAlertPipelineSilent"
_HEARTBEAT_SOURCES = (AlertSourceKind.ALERTMANAGER, AlertSourceKind.GENERIC)


def is_heartbeat(alert: CanonicalAlert, cfg: AlertingSettings) -> bool:
    return (
        cfg.deadman_enabled
        and alert.name == cfg.deadman_alert_name
        and alert.source in _HEARTBEAT_SOURCES
    )


def record_heartbeat(
    session: Session, beats: Sequence[CanonicalAlert], cfg: AlertingSettings, now: datetime
) -> None:
    """Remember that the heartbeat fired (one upsert; resolved copies are ignored)."""
    if not any(b.status == AlertStatus.FIRING for b in beats):
        return
    if is_postgres(session):
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(DeadmanHeartbeat)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(DeadmanHeartbeat)  # type: ignore[assignment]
    table = DeadmanHeartbeat.__table__
    stmt = stmt.values(
        name=cfg.deadman_alert_name,
        first_heartbeat_at=now,
        last_heartbeat_at=now,
        heartbeat_count=1,
    ).on_conflict_do_update(
        index_elements=[table.c.name],
        set_={
            "last_heartbeat_at": now,
            "heartbeat_count": table.c.heartbeat_count + 1,
        },
    )
    session.execute(stmt)


@dataclass(frozen=True)
class DeadmanStatus:
    """What ``GET /alerts/deadman`` shows."""

    name: str
    enabled: bool
    interval_minutes: int
    # disabled | never_seen | ok | silent
    state: str
    last_heartbeat_at: datetime | None
    heartbeat_count: int
    silent_for_seconds: int | None
    incident_id: int | None
    incident_number: str | None
    incident_state: IncidentState | None


def status(session: Session, settings: Settings, now: datetime) -> DeadmanStatus:
    cfg = settings.section(AlertingSettings)
    row = session.get(DeadmanHeartbeat, cfg.deadman_alert_name)
    incident = (
        session.get(Incident, row.incident_id) if row is not None and row.incident_id else None
    )
    if not cfg.deadman_enabled:
        state = "disabled"
    elif row is None:
        state = "never_seen"
    elif _overdue(row, cfg, now):
        state = "silent"
    else:
        state = "ok"
    return DeadmanStatus(
        name=cfg.deadman_alert_name,
        enabled=cfg.deadman_enabled,
        interval_minutes=cfg.deadman_interval_minutes,
        state=state,
        last_heartbeat_at=row.last_heartbeat_at if row is not None else None,
        heartbeat_count=row.heartbeat_count if row is not None else 0,
        silent_for_seconds=(
            max(0, int((now - row.last_heartbeat_at).total_seconds())) if row is not None else None
        ),
        incident_id=incident.id if incident is not None else None,
        incident_number=format_number(incident.id) if incident is not None else None,
        incident_state=incident.state if incident is not None else None,
    )


def _overdue(row: DeadmanHeartbeat, cfg: AlertingSettings, now: datetime) -> bool:
    return now - row.last_heartbeat_at >= timedelta(minutes=cfg.deadman_interval_minutes)


def check_deadman(session: Session, settings: Settings, now: datetime) -> Incident | None:
    """Open the pipeline incident if the heartbeat is overdue; settle it once it is back.

    Returns the incident opened by this call, if any.
    """
    cfg = settings.section(AlertingSettings)
    if not cfg.deadman_enabled:
        return None
    row = session.scalar(
        select(DeadmanHeartbeat)
        .where(DeadmanHeartbeat.name == cfg.deadman_alert_name)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row is None:
        return None  # never armed
    if not _overdue(row, cfg, now):
        _heartbeat_back(session, row, cfg, now)
        return None
    if row.alarmed_for is not None and row.alarmed_for >= row.last_heartbeat_at:
        return None  # this gap already has its incident
    if _silent_again(session, row, cfg):
        return None
    incident = _open(session, settings, cfg, row, now)
    row.incident_id = incident.id
    row.alarmed_for = row.last_heartbeat_at
    session.flush()
    return incident


def _open(
    session: Session,
    settings: Settings,
    cfg: AlertingSettings,
    row: DeadmanHeartbeat,
    now: datetime,
) -> Incident:
    minutes = int((now - row.last_heartbeat_at).total_seconds() // 60)
    summary = (
        f"No {cfg.deadman_alert_name} heartbeat from Alertmanager for {minutes} min "
        f"(expected every {cfg.deadman_interval_minutes} min)"
    )
    alert = CanonicalAlert(
        source=AlertSourceKind.FULCRUM,
        fingerprint=f"deadman:{cfg.deadman_alert_name}",
        status=AlertStatus.FIRING,
        severity=Severity.CRITICAL,
        name=PIPELINE_ALERT,
        starts_at=row.last_heartbeat_at,
        labels={
            "alertname": PIPELINE_ALERT,
            "severity": "critical",
            "watchdog": cfg.deadman_alert_name,
        },
        annotations={
            "summary": summary,
            "description": (
                f"The last {cfg.deadman_alert_name} heartbeat arrived at "
                f"{row.last_heartbeat_at.isoformat()}. Prometheus, Alertmanager or the "
                "path to Fulcrum may be down: alerts raised meanwhile may not reach "
                "Fulcrum. Check Prometheus' rule evaluation, Alertmanager's logs and its "
                "webhook receiver for Fulcrum."
            ),
        },
    )
    matrix = PriorityMatrix.from_settings(settings.incidents)
    incident, _ = open_incident(
        session,
        alert,
        None,
        Binding.NONE,
        matrix,
        now,
        title=f"Alert pipeline silent: {summary}",
        event=NotificationEvent.DEADMAN,
    )
    link = session.get(AlertIncident, incident.id)
    if link is not None:
        link.auto_resolve = cfg.deadman_auto_resolve
    note(session, incident.id, summary, {"deadman": cfg.deadman_alert_name, "minutes": minutes})
    return incident


def _open_incident(
    session: Session, row: DeadmanHeartbeat
) -> tuple[Incident, AlertIncident | None] | None:
    if row.incident_id is None:
        return None
    locked = lock_incidents(session, [row.incident_id]).get(row.incident_id)
    if locked is None or locked.state not in OPEN_STATES:
        return None
    return session.get_one(Incident, locked.id), session.get(AlertIncident, locked.id)


def _silent_again(session: Session, row: DeadmanHeartbeat, cfg: AlertingSettings) -> bool:
    """A new gap while the last one's incident is still open: note it there instead."""
    found = _open_incident(session, row)
    if found is None:
        return False
    incident, link = found
    if link is not None:
        link.alerts_resolved_at = None
    row.alarmed_for = row.last_heartbeat_at
    note(
        session,
        incident.id,
        f"The {cfg.deadman_alert_name} heartbeat is missing again (last at "
        f"{row.last_heartbeat_at.isoformat()})",
        {"deadman": cfg.deadman_alert_name, "silent_again": True},
    )
    return True


def _heartbeat_back(
    session: Session, row: DeadmanHeartbeat, cfg: AlertingSettings, now: datetime
) -> None:
    found = _open_incident(session, row)
    if found is None:
        return
    incident, link = found
    if link is not None:
        if link.alerts_resolved_at is not None:
            return  # already said so; the NOC confirms
        link.alerts_resolved_at = now
    text = (
        f"The {cfg.deadman_alert_name} heartbeat is back (last at "
        f"{row.last_heartbeat_at.isoformat()}). Alerts raised during the silence may have "
        "been lost upstream: check Alertmanager."
    )
    note(session, incident.id, text, {"deadman": cfg.deadman_alert_name, "heartbeat_back": True})
    if cfg.deadman_auto_resolve:
        lifecycle.transition(
            session,
            ALERTING,
            incident,
            IncidentState.RESOLVED,
            resolution_code=ResolutionCode.SELF_RECOVERED,
            resolution_notes=text,
        )
        notify_incident(session, incident, NotificationEvent.RESOLVED, now)
    else:
        notify_incident(session, incident, NotificationEvent.ALERTS_RESOLVED, now)
