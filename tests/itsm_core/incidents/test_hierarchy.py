"""Major incidents and their children."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from itsm_core.actor import SYSTEM
from itsm_core.errors import Conflict, NotFound, ValidationFailed
from itsm_core.incidents import hierarchy, lifecycle, timeline
from itsm_core.incidents.choices import IncidentState, ResolutionCode, TimelineKind
from tests.itsm_core.incidents import factories as f

S = IncidentState


def test_linking_makes_the_parent_major_and_notes_both(session: Session) -> None:
    parent, child = f.incident(session), f.incident(session)
    hierarchy.link_child(session, SYSTEM, parent, child)
    assert parent.major is True
    assert child.parent_id == parent.id
    assert [c.id for c in parent.children] == [child.id]
    assert timeline.entries(session, parent.id, [TimelineKind.LINK])[0].body == (
        f"Child {child.number} linked"
    )
    assert timeline.entries(session, child.id, [TimelineKind.LINK])[0].body == (
        f"Linked to parent {parent.number}"
    )


def test_linking_twice_is_harmless(session: Session) -> None:
    parent, child = f.incident(session), f.incident(session)
    hierarchy.link_child(session, SYSTEM, parent, child)
    hierarchy.link_child(session, SYSTEM, parent, child)
    assert len(timeline.entries(session, parent.id, [TimelineKind.LINK])) == 1


def test_resolving_the_parent_resolves_open_children(session: Session) -> None:
    parent = f.incident_in(session, S.IN_PROGRESS)
    new_child = f.incident(session)
    pending_child = f.incident_in(session, S.PENDING)
    done_child = f.incident_in(session, S.RESOLVED)
    for child in (new_child, pending_child, done_child):
        hierarchy.link_child(session, SYSTEM, parent, child)
    done_at = done_child.resolved_at
    lifecycle.transition(
        session,
        SYSTEM,
        parent,
        S.RESOLVED,
        resolution_code=ResolutionCode.FIXED,
        resolution_notes="township router replaced",
    )
    for child in (new_child, pending_child):
        assert child.state == S.RESOLVED
        assert child.resolution_code == ResolutionCode.RESOLVED_WITH_PARENT
        assert child.resolution_notes == f"Resolved with {parent.number}: township router replaced"
    assert done_child.resolved_at == done_at
    note = timeline.entries(session, parent.id, [TimelineKind.SYSTEM])[-1]
    assert note.data["resolved_children"] == sorted([new_child.number, pending_child.number])
    lifecycle.transition(session, SYSTEM, parent, S.CLOSED)
    assert parent.state == S.CLOSED


def test_cancelled_children_do_not_block_closing(session: Session) -> None:
    parent, child = f.incident_in(session, S.IN_PROGRESS), f.incident(session)
    hierarchy.link_child(session, SYSTEM, parent, child)
    lifecycle.transition(session, SYSTEM, child, S.CANCELLED, reason="duplicate")
    lifecycle.transition(session, SYSTEM, parent, S.RESOLVED, **f.FULL_DETAILS)
    lifecycle.transition(session, SYSTEM, parent, S.CLOSED)
    assert parent.state == S.CLOSED


def test_unlink(session: Session) -> None:
    parent, child = f.incident(session), f.incident(session)
    hierarchy.link_child(session, SYSTEM, parent, child)
    hierarchy.unlink_child(session, SYSTEM, parent, child)
    assert child.parent_id is None
    assert parent.children == []
    assert len(timeline.entries(session, child.id, [TimelineKind.LINK])) == 2


def test_unlink_a_stranger_is_404(session: Session) -> None:
    with pytest.raises(NotFound) as info:
        hierarchy.unlink_child(session, SYSTEM, f.incident(session), f.incident(session))
    assert "child_id" in info.value.errors


def test_no_self_parenting(session: Session) -> None:
    incident = f.incident(session)
    with pytest.raises(ValidationFailed):
        hierarchy.link_child(session, SYSTEM, incident, incident)


def test_one_level_deep(session: Session) -> None:
    top, middle, bottom = f.incident(session), f.incident(session), f.incident(session)
    hierarchy.link_child(session, SYSTEM, top, middle)
    with pytest.raises(ValidationFailed, match="itself a child"):
        hierarchy.link_child(session, SYSTEM, middle, bottom)
    with pytest.raises(ValidationFailed, match="child incidents of its own"):
        hierarchy.link_child(session, SYSTEM, bottom, top)


def test_a_child_has_one_parent(session: Session) -> None:
    a, b, child = f.incident(session), f.incident(session), f.incident(session)
    hierarchy.link_child(session, SYSTEM, a, child)
    with pytest.raises(Conflict, match="unlink it first"):
        hierarchy.link_child(session, SYSTEM, b, child)


@pytest.mark.parametrize("state", [S.RESOLVED, S.CLOSED, S.CANCELLED])
def test_only_open_parents_take_children(session: Session, state: IncidentState) -> None:
    with pytest.raises(Conflict):
        hierarchy.link_child(session, SYSTEM, f.incident_in(session, state), f.incident(session))


@pytest.mark.parametrize("state", [S.CLOSED, S.CANCELLED])
def test_final_incidents_cannot_become_children(session: Session, state: IncidentState) -> None:
    with pytest.raises(Conflict):
        hierarchy.link_child(session, SYSTEM, f.incident(session), f.incident_in(session, state))
