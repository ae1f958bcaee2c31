"""Opening an incident from alerts, and adopting the downstream incidents it explains.

The incident is created through the core (``incidents.service.create_incident``, source
``alert``) with what routing decides for the lead alert: kind, impact, urgency, group,
first and second responsible; the priority comes from the core's matrix. The routing
rule, fault type and contingency plan (预案, its steps included) go into the description;
``auto_resolve`` is kept on the ``AlertIncident`` row for when the alerts resolve.

A routing rule naming a group or person that no longer exists must not lose the alert:
the incident then opens for the NOC queue and its timeline says what was dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from alerting.actor import ALERTING
from alerting.canonical import CanonicalAlert
from alerting.choices import Binding, OccurrenceRole
from alerting.correlation import adoptable_incidents, downstream_of
from alerting.intake_models import Alert, AlertIncident, AlertOccurrence
from alerting.links import note
from alerting.locks import fingerprint_key, try_lock_fingerprints, try_lock_incidents
from alerting.notifications.outbox import NotificationEvent, notify_incident
from alerting.routing.decision import RoutingDecision
from alerting.routing.engine import route
from alerting.routing.models import ContingencyPlan
from alerting.settings import AlertingSettings
from itsm_core.cmdb.models import ConfigurationItem
from itsm_core.errors import NotFound
from itsm_core.incidents import merge, service
from itsm_core.incidents.choices import IncidentSource, IncidentState
from itsm_core.incidents.models import Incident
from itsm_core.incidents.priority import PriorityMatrix
from itsm_core.incidents.schemas import IncidentCreate

_TITLE_MAX = 200
_DESCRIPTION_MAX = 20_000


def _clean(text: str) -> str:
    # Canonical alerts from collectors or analytics skip the adapters' NUL check.
    return text.replace("\x00", "")


def title_for(alert: CanonicalAlert, ci: ConfigurationItem | None) -> str:
    """``NodeDown on township-router-3: Router unreachable`` (at most 200 characters)."""
    where = ci.name if ci is not None else (alert.labels.get("instance") or "no CI")
    summary = alert.annotations.get("summary") or alert.annotations.get("message") or ""
    title = f"{alert.name} on {where}" + (f": {summary}" if summary else "")
    return _clean(title)[:_TITLE_MAX].strip() or "Alert"


def description_for(
    session: Session,
    alert: CanonicalAlert,
    ci: ConfigurationItem | None,
    how: Binding,
    decision: RoutingDecision,
) -> str:
    lines = [
        f"Opened by the alert pipeline from {alert.source} alert {alert.name} ({alert.severity})."
    ]
    for key in ("summary", "description", "message"):
        if alert.annotations.get(key):
            lines.append(f"{key.capitalize()}: {alert.annotations[key]}")
    if ci is not None:
        lines.append(f"CI: {ci.name} (#{ci.id}, {ci.ci_class}), bound by {how}")
    else:
        lines.append("CI: none could be bound from the labels")
    labels = ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items()))
    lines.append(f"Labels: {labels}")
    if alert.generator_url:
        lines.append(f"Source: {alert.generator_url}")
    rule = decision.rule_name or (f"#{decision.rule_id}" if decision.rule_id else None)
    lines.append(f"Routing rule: {rule}" if rule else "Routing rule: none matched (default)")
    if decision.fault_type:
        lines.append(f"Fault type: {decision.fault_type}")
    plan = _plan_text(session, decision)
    if plan:
        lines.extend(["", plan])
    return _clean("\n".join(lines))[:_DESCRIPTION_MAX]


def _plan_text(session: Session, decision: RoutingDecision) -> str | None:
    plan = (
        session.get(ContingencyPlan, decision.contingency_plan_id)
        if decision.contingency_plan_id is not None
        else None
    )
    if plan is not None:
        return f"Contingency plan (预案) {plan.name}: {plan.title}\n{plan.steps}".rstrip()
    if decision.contingency_plan:
        return f"Contingency plan (预案): {decision.contingency_plan}"
    return None


def _create(
    session: Session, data: IncidentCreate, matrix: PriorityMatrix
) -> tuple[Incident, list[str]]:
    """Create the incident; references routing named that no longer exist are dropped."""
    try:
        return service.create_incident(session, ALERTING, data, matrix=matrix), []
    except NotFound as exc:
        # create_incident checks every reference before it writes anything.
        dropped = sorted(exc.errors) or ["assignment_group_id"]
        stripped = data.model_copy(
            update={
                "assignment_group_id": None,
                "first_responsible_id": None,
                "second_responsible_id": None,
            }
        )
        return service.create_incident(session, ALERTING, stripped, matrix=matrix), dropped


def open_incident(
    session: Session,
    lead: CanonicalAlert,
    ci: ConfigurationItem | None,
    how: Binding,
    matrix: PriorityMatrix,
    now: datetime,
    *,
    title: str | None = None,
    event: NotificationEvent = NotificationEvent.OPENED,
) -> tuple[Incident, RoutingDecision]:
    """Open one incident for ``lead`` (and the alerts that will join it) and notify."""
    decision = route(session, lead, ci)
    data = IncidentCreate(
        title=_clean(title)[:_TITLE_MAX] if title else title_for(lead, ci),
        description=description_for(session, lead, ci, how, decision),
        kind=decision.kind,
        source=IncidentSource.ALERT,
        impact=decision.impact,
        urgency=decision.urgency,
        assignment_group_id=decision.assignment_group_id,
        first_responsible_id=decision.first_responsible_id,
        second_responsible_id=decision.second_responsible_id,
        primary_ci_id=ci.id if ci is not None else None,
    )
    incident, dropped = _create(session, data, matrix)
    if dropped:
        decision = replace(
            decision,
            assignment_group_id=None,
            first_responsible_id=None,
            second_responsible_id=None,
        )
        note(
            session,
            incident.id,
            f"Routing named records that no longer exist ({', '.join(dropped)}); "
            "the incident is left for the NOC queue",
            {"dropped": dropped},
        )
    session.add(
        AlertIncident(
            incident_id=incident.id,
            opened_by_alert=True,
            auto_resolve=decision.auto_resolve,
            rule_id=decision.rule_id,
            fault_type=(decision.fault_type or None) and decision.fault_type[:100],
            last_alert_at=now,
            created_at=now,
        )
    )
    session.flush()
    notify_incident(session, incident, event, now)
    return incident, decision


def adopt_downstream(
    session: Session, incident: Incident, cfg: AlertingSettings, now: datetime
) -> dict[int, int]:
    """Merge into ``incident`` the recent, untaken alert incidents downstream of its CI.

    For when the upstream alert arrives a little after its symptoms. Only incidents the
    pipeline opened within the upstream window, still ``new`` or ``assigned``, neither
    parent nor child nor merged, are taken — and only those whose alerts no other
    delivery is handling right now (anything busy is left alone rather than waited for).
    Returns {adopted incident id: ``incident.id``}.
    """
    if incident.primary_ci_id is None:
        return {}
    ci_ids = downstream_of(session, incident.primary_ci_id, cfg.upstream_depth)
    if not ci_ids:
        return {}
    after = now - timedelta(minutes=cfg.upstream_window_minutes)
    candidates = adoptable_incidents(session, ci_ids, after, exclude=incident.id)
    if not candidates:
        return {}
    locked = try_lock_incidents(session, candidates)
    alerts = _lockable_alerts(session, sorted(locked))
    taken: list[Incident] = []
    for incident_id in sorted(alerts):
        if locked[incident_id].state not in (IncidentState.NEW, IncidentState.ASSIGNED):
            continue
        duplicate = session.get_one(Incident, incident_id)
        merge.merge(session, ALERTING, duplicate, incident)
        taken.append(duplicate)
    if not taken:
        return {}
    taken_ids = [d.id for d in taken]
    alert_ids = sorted(a for d in taken_ids for a in alerts[d])
    session.execute(update(Alert).where(Alert.id.in_(alert_ids)).values(incident_id=incident.id))
    session.execute(
        update(AlertOccurrence)
        .where(
            AlertOccurrence.alert_id.in_(alert_ids),
            AlertOccurrence.incident_id.in_(taken_ids),
            AlertOccurrence.ended_at.is_(None),
        )
        .values(incident_id=incident.id, role=OccurrenceRole.SYMPTOM)
    )
    numbers = ", ".join(d.number for d in taken)
    note(
        session,
        incident.id,
        f"Adopted {len(taken)} downstream incident(s) as symptoms: {numbers}",
        {"adopted_incident_ids": taken_ids, "alert_ids": alert_ids},
    )
    return dict.fromkeys(taken_ids, incident.id)


def _lockable_alerts(session: Session, incident_ids: Sequence[int]) -> dict[int, list[int]]:
    """Incident id → its alerts, for the incidents all of whose alerts could be locked."""
    if not incident_ids:
        return {}
    rows = session.execute(
        select(Alert.id, Alert.incident_id, Alert.source, Alert.fingerprint).where(
            Alert.incident_id.in_(incident_ids)
        )
    ).all()
    got = try_lock_fingerprints(session, ((r.source, r.fingerprint) for r in rows))
    by_incident: dict[int, list[int]] = {i: [] for i in incident_ids}
    busy: set[int] = set()
    for alert_id, incident_id, source, fingerprint in rows:
        if incident_id is None:
            continue
        by_incident[incident_id].append(alert_id)
        if fingerprint_key(source, fingerprint) not in got:
            busy.add(incident_id)
    return {i: ids for i, ids in by_incident.items() if i not in busy}
