"""Parent and child incidents: a major incident and the incidents it caused.

The tree is one level deep — a parent is never itself a child and a child never has
children — so resolving the parent (``lifecycle`` cascades) settles the whole outage,
and the parent cannot close or be cancelled while a child is still open.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from itsm_core import audit
from itsm_core.actor import Actor
from itsm_core.errors import Conflict, NotFound, ValidationFailed
from itsm_core.incidents import timeline
from itsm_core.incidents.choices import FINAL_STATES, OPEN_STATES, TimelineKind
from itsm_core.incidents.models import Incident, format_number


def link_child(session: Session, actor: Actor, parent: Incident, child: Incident) -> Incident:
    """Make ``child`` part of the major incident ``parent`` (which becomes ``major``)."""
    if child.parent_id == parent.id:
        return parent
    if child.id == parent.id:
        raise ValidationFailed.on("child_id", "an incident cannot be its own child")
    if parent.parent_id is not None:
        raise ValidationFailed.on(
            "child_id",
            f"{parent.number} is itself a child of {format_number(parent.parent_id)}; "
            "link to that parent instead",
        )
    if child.children:
        raise ValidationFailed.on("child_id", f"{child.number} has child incidents of its own")
    if parent.state not in OPEN_STATES:
        raise Conflict(
            f"{parent.number} is {parent.state}; only an open incident takes children",
            errors={"state": [f"parent is {parent.state}"]},
        )
    if child.state in FINAL_STATES:
        raise Conflict(
            f"{child.number} is {child.state}",
            errors={"child_id": [f"child is {child.state}"]},
        )
    if child.parent_id is not None:
        raise Conflict(
            f"{child.number} already belongs to {format_number(child.parent_id)}; unlink it first",
            errors={"child_id": ["already a child of another incident"]},
        )
    child.parent_id = parent.id
    parent.major = True
    session.flush()
    session.refresh(parent, ["children"])
    _record(session, actor, parent, child, linked=True)
    return parent


def unlink_child(session: Session, actor: Actor, parent: Incident, child: Incident) -> Incident:
    """Take ``child`` out of ``parent``; the parent stays flagged major."""
    if child.parent_id != parent.id:
        raise NotFound(
            f"{child.number} is not a child of {parent.number}",
            errors={"child_id": ["not a child of this incident"]},
        )
    child.parent_id = None
    session.flush()
    session.refresh(parent, ["children"])
    _record(session, actor, parent, child, linked=False)
    return parent


def _record(
    session: Session, actor: Actor, parent: Incident, child: Incident, *, linked: bool
) -> None:
    verb = "linked" if linked else "unlinked"
    data = {"parent_id": parent.id, "child_id": child.id, "linked": linked}
    timeline.add_entry(
        session,
        actor,
        parent,
        TimelineKind.LINK,
        f"Child {child.number} {verb}",
        data=data,
    )
    timeline.add_entry(
        session,
        actor,
        child,
        TimelineKind.LINK,
        f"{'Linked to' if linked else 'Unlinked from'} parent {parent.number}",
        data=data,
    )
    audit.record(
        session,
        actor,
        f"incident.{'link' if linked else 'unlink'}_child",
        "incident",
        parent.id,
        after={"child_id": child.id, "linked": linked},
    )
