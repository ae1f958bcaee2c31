"""Merging a duplicate incident into the one that stays.

The duplicate is cancelled ("Merged into INC…") with ``merged_into_id`` set, so the
queue and the KPIs count the outage once while the duplicate's record stays readable.
Carried over to the target: the duplicate's primary and affected CIs (the duplicate's
primary becomes the target's primary when the target has none), copies of its work notes
(author kept, original time in ``data``), and its child incidents. Both timelines get a
``merge`` entry; the audit log gets one.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from itsm_core import audit
from itsm_core.actor import Actor
from itsm_core.errors import Conflict, ValidationFailed
from itsm_core.incidents import lifecycle, timeline
from itsm_core.incidents.choices import FINAL_STATES, OPEN_STATES, IncidentState, TimelineKind
from itsm_core.incidents.models import Incident, IncidentCI
from itsm_core.incidents.service import get_incident
from itsm_core.sla import records as sla


def merge_by_id(session: Session, actor: Actor, duplicate_id: int, into_id: int) -> Incident:
    """Lock both incidents (in id order, so opposite merges cannot deadlock) and merge."""
    fields = {duplicate_id: "id", into_id: "into_id"}
    locked = {
        i: get_incident(session, i, for_update=True, field=fields[i]) for i in sorted(set(fields))
    }
    return merge(session, actor, locked[duplicate_id], locked[into_id])


def merge(session: Session, actor: Actor, duplicate: Incident, target: Incident) -> Incident:
    """Fold ``duplicate`` into ``target``; returns the target."""
    _check(duplicate, target)
    cis_added = _carry_cis(duplicate, target)
    notes = timeline.entries(session, duplicate.id, [TimelineKind.WORK_NOTE])
    for note in notes:
        timeline.add_entry(
            session,
            note.actor,
            target,
            TimelineKind.WORK_NOTE,
            note.body,
            data={
                "merged_from_id": duplicate.id,
                "merged_from": duplicate.number,
                "original_at": note.at.isoformat(),
            },
        )
    moved = [child.number for child in duplicate.children]
    for child in list(duplicate.children):
        child.parent_id = target.id
    if moved:
        target.major = True
    duplicate.merged_into_id = target.id
    session.flush()
    session.refresh(duplicate, ["children"])
    session.refresh(target, ["children"])

    summary = {
        "merged_from_id": duplicate.id,
        "merged_from": duplicate.number,
        "merged_into_id": target.id,
        "merged_into": target.number,
        "cis_added": cis_added,
        "notes_copied": len(notes),
        "children_moved": moved,
        "duplicate_priority": duplicate.priority.value,
    }
    timeline.add_entry(
        session,
        actor,
        target,
        TimelineKind.MERGE,
        f"{duplicate.number} merged into this incident",
        data=summary,
    )
    timeline.add_entry(
        session, actor, duplicate, TimelineKind.MERGE, f"Merged into {target.number}", data=summary
    )
    audit.record(
        session,
        actor,
        "incident.merge",
        "incident",
        duplicate.id,
        before={"state": duplicate.state},
        after={"merged_into_id": target.id},
    )
    lifecycle.transition(
        session, actor, duplicate, IncidentState.CANCELLED, reason=f"Merged into {target.number}"
    )
    sla.sync_incident(session, target)
    return target


def _check(duplicate: Incident, target: Incident) -> None:
    if duplicate.id == target.id:
        raise ValidationFailed.on("into_id", "an incident cannot be merged into itself")
    if duplicate.state not in OPEN_STATES:
        raise Conflict(
            f"{duplicate.number} is {duplicate.state}; only open incidents can be merged",
            errors={"state": [f"duplicate is {duplicate.state}"]},
        )
    if target.state in FINAL_STATES:
        raise Conflict(
            f"{target.number} is {target.state}",
            errors={"into_id": [f"target is {target.state}"]},
        )
    if target.parent_id == duplicate.id:
        raise ValidationFailed.on(
            "into_id", f"{target.number} is a child of {duplicate.number}; unlink it first"
        )
    if duplicate.children and target.parent_id is not None:
        raise ValidationFailed.on(
            "into_id", f"{target.number} is a child incident and cannot take over children"
        )


def _carry_cis(duplicate: Incident, target: Incident) -> list[int]:
    added: list[int] = []
    if target.primary_ci_id is None and duplicate.primary_ci_id is not None:
        target.primary_ci_id = duplicate.primary_ci_id
        added.append(duplicate.primary_ci_id)
    have = {target.primary_ci_id, *target.affected_ci_ids}
    for ci_id in [duplicate.primary_ci_id, *duplicate.affected_ci_ids]:
        if ci_id is not None and ci_id not in have:
            target.affected.append(IncidentCI(ci_id=ci_id))
            have.add(ci_id)
            added.append(ci_id)
    return added
