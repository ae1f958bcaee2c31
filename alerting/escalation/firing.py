"""What firing one escalation step does to its incident.

- **first / second responsible**: the person named on the incident
  (``first_responsible_id`` / ``second_responsible_id``, usually set by routing); if it
  names nobody, the policy's stand-in is written onto the incident through
  ``incidents.service.update_incident`` (a field change on the timeline and in the
  audit log). The assignment is left alone: the group keeps the ticket, the responsible
  is told to make sure someone accepts it.
- **management**: the policy's management group, else the group named by
  ``[escalation] management_group``; every active member is addressed.

Then one ESCALATION line on the timeline, one audit entry, and notifications queued for
the channels of the incident's group and of the management group (``outbox``), which
@-mention or mail the people addressed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerting.escalation.choices import EscalationLevel
from alerting.escalation.models import IncidentEscalation
from alerting.escalation.policies import Policy
from alerting.escalation.settings import EscalationSettings
from alerting.notifications.outbox import NotificationEvent, notify_incident
from itsm_core import audit
from itsm_core.actor import Actor
from itsm_core.incidents import service, timeline
from itsm_core.incidents.choices import TimelineKind
from itsm_core.incidents.models import Incident
from itsm_core.incidents.schemas import IncidentPatch
from itsm_core.people.models import Group, User
from itsm_core.people.roles import Role

L = EscalationLevel
ACTOR = Actor(name="escalation", roles=frozenset({Role.ADMIN}))
_FIELDS = {
    L.FIRST_RESPONSIBLE: ("first_responsible_id", "first_responsible_id"),
    L.SECOND_RESPONSIBLE: ("second_responsible_id", "second_responsible_id"),
}


@dataclass(frozen=True, slots=True)
class FiredEscalation:
    """One step that fired: who was told, and how many messages were queued."""

    step_id: int
    incident_id: int
    incident_number: str
    level: EscalationLevel
    after_minutes: int
    target_user_ids: tuple[int, ...]
    target_group_id: int | None
    notifications: int


def _responsible(session: Session, incident: Incident, level: L, policy: Policy) -> int | None:
    incident_field, policy_field = _FIELDS[level]
    named: int | None = getattr(incident, incident_field)
    if named is not None:
        return named
    stand_in: int | None = getattr(policy, policy_field)
    if stand_in is None or session.get(User, stand_in) is None:
        return None
    patch = IncidentPatch.model_validate({incident_field: stand_in})
    service.update_incident(session, ACTOR, incident, patch)
    return stand_in


def _management(session: Session, policy: Policy, settings: EscalationSettings) -> Group | None:
    if policy.management_group_id is not None:
        group = session.get(Group, policy.management_group_id)
        if group is not None:
            return group
    return session.scalar(select(Group).where(Group.name == settings.management_group))


def _who(session: Session, user_ids: list[int], group: Group | None) -> str:
    if group is not None:
        return f"group {group.name}"
    names = [u.username for u in (session.get(User, i) for i in user_ids) if u is not None]
    return ", ".join(names) or "nobody (no responsible named)"


def fire(
    session: Session,
    incident: Incident,
    step: IncidentEscalation,
    policy: Policy,
    settings: EscalationSettings,
    now: datetime,
) -> FiredEscalation:
    """Apply one claimed step (the caller has set ``fired_at`` in this transaction)."""
    level = step.level
    group: Group | None = None
    if level == L.MANAGEMENT:
        group = _management(session, policy, settings)
        user_ids = sorted(u.id for u in group.members if u.active) if group is not None else []
    else:
        responsible = _responsible(session, incident, level, policy)
        user_ids = [responsible] if responsible is not None else []
    step.target_user_id = user_ids[0] if len(user_ids) == 1 and group is None else None
    step.target_group_id = group.id if group is not None else None
    who = _who(session, user_ids, group)
    data = {
        "step_id": step.id,
        "level": level.value,
        "after_minutes": step.after_minutes,
        "priority": step.priority.value,
        "cycle_started_at": step.cycle_started_at.isoformat(),
        "target_user_ids": user_ids,
        "target_group_id": step.target_group_id,
    }
    timeline.add_entry(
        session,
        ACTOR,
        incident,
        TimelineKind.ESCALATION,
        f"Not accepted after {step.after_minutes} min ({step.priority}): "
        f"escalated to {level.value.replace('_', ' ')} — {who}",
        data=data,
        at=now,
    )
    audit.record(session, ACTOR, "incident.escalate", "incident", incident.id, after=data)
    queued = notify_incident(
        session,
        incident,
        NotificationEvent.ESCALATED,
        now,
        recipients=user_ids,
        groups=[group.id] if group is not None else [],
        details={"level": level.value, "after_minutes": step.after_minutes},
    )
    session.flush()
    return FiredEscalation(
        step_id=step.id,
        incident_id=incident.id,
        incident_number=incident.number,
        level=level,
        after_minutes=step.after_minutes,
        target_user_ids=tuple(user_ids),
        target_group_id=step.target_group_id,
        notifications=len(queued),
    )
