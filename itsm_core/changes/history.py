"""A change's history, written twice: its own timeline and the hash-chained audit log.

Every function of the package that alters a change or votes on it ends here, so the
timeline a CAB reads and the audit log an inspector verifies never disagree.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from itsm_core import audit
from itsm_core.actor import Actor
from itsm_core.changes.choices import ChangeState, EventKind
from itsm_core.changes.models import Change, ChangeEvent
from itsm_core.jsonable import to_json
from itsm_core.timeutil import utcnow

ENTITY = "change"


def snapshot(change: Change) -> dict[str, Any]:
    """Everything a person edits: kept whole on creation, diffed on each edit."""
    return {
        "number": change.number,
        "title": change.title,
        "description": change.description,
        "type": change.change_type,
        "state": change.state,
        "risk": change.risk,
        "category": change.category,
        "implementer_id": change.implementer_id,
        "template_id": change.template_id,
        "planned_start": change.planned_start,
        "planned_end": change.planned_end,
        "ci_ids": change.ci_ids,
        "incident_ids": change.incident_ids,
        "problem_ids": list(change.problem_ids),
        "implementation_plan": change.implementation_plan,
        "backout_plan": change.backout_plan,
        "state_reason": change.state_reason,
        "review_outcome": change.review_outcome,
    }


def brief(change: Change) -> dict[str, Any]:
    """The state-related fields: what a move's audit entry compares (not the long plans)."""
    return {
        "number": change.number,
        "state": change.state,
        "type": change.change_type,
        "risk": change.risk,
        "planned_start": change.planned_start,
        "planned_end": change.planned_end,
        "ci_ids": change.ci_ids,
        "state_reason": change.state_reason,
        "review_outcome": change.review_outcome,
    }


def log(
    session: Session,
    actor: Actor,
    change: Change,
    kind: EventKind,
    action: str,
    *,
    message: str = "",
    from_state: ChangeState | None = None,
    to_state: ChangeState | None = None,
    data: dict[str, Any] | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> ChangeEvent:
    """Append one timeline event and one audit entry (action ``action``) for ``change``."""
    event = ChangeEvent(
        change_id=change.id,
        at=utcnow(),
        actor=actor.name,
        kind=kind,
        message=message,
        from_state=from_state,
        to_state=to_state,
        data=to_json(data or {}),
    )
    session.add(event)
    session.flush()
    audit.record(session, actor, action, ENTITY, change.id, before=before, after=after)
    return event
