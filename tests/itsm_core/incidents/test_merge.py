"""Merging a duplicate into the incident that stays."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from itsm_core.actor import SYSTEM
from itsm_core.audit.models import AuditEntry
from itsm_core.errors import Conflict, NotFound, ValidationFailed
from itsm_core.incidents import hierarchy, merge, timeline
from itsm_core.incidents.choices import IncidentState, TimelineKind
from itsm_core.people.roles import Role
from tests.itsm_core.incidents import factories as f

S = IncidentState


def test_merge_cancels_the_duplicate_and_carries_cis_and_notes(session: Session) -> None:
    router, cpe1, cpe2 = f.ci(session, "router"), f.ci(session, "cpe1"), f.ci(session, "cpe2")
    target = f.incident(session, primary_ci_id=router, affected_ci_ids=[cpe1])
    duplicate = f.incident(session, primary_ci_id=cpe2, affected_ci_ids=[cpe1, router])
    nurse = f.actor_of(f.user(session, "nurse-desk", Role.SERVICE_DESK))
    timeline.add_note(session, nurse, duplicate, "ward 5 also reports no network")

    assert merge.merge(session, SYSTEM, duplicate, target) is target

    assert duplicate.state == S.CANCELLED
    assert duplicate.merged_into_id == target.id
    assert duplicate.cancel_reason == f"Merged into {target.number}"
    assert target.primary_ci_id == router
    assert target.affected_ci_ids == sorted([cpe1, cpe2])
    copied = timeline.entries(session, target.id, [TimelineKind.WORK_NOTE])
    assert [(n.actor, n.body) for n in copied] == [("nurse-desk", "ward 5 also reports no network")]
    assert copied[0].data["merged_from"] == duplicate.number
    target_note = timeline.entries(session, target.id, [TimelineKind.MERGE])[0]
    assert target_note.body == f"{duplicate.number} merged into this incident"
    assert target_note.data["cis_added"] == [cpe2]
    assert target_note.data["notes_copied"] == 1
    dup_note = timeline.entries(session, duplicate.id, [TimelineKind.MERGE])[0]
    assert dup_note.body == f"Merged into {target.number}"
    actions = set(session.scalars(select(AuditEntry.action)))
    assert {"incident.merge", "incident.cancel"} <= actions


def test_target_without_a_primary_ci_takes_the_duplicates(session: Session) -> None:
    vm = f.ci(session, "pacs-01", "vm")
    target, duplicate = f.incident(session), f.incident(session, primary_ci_id=vm)
    merge.merge(session, SYSTEM, duplicate, target)
    assert target.primary_ci_id == vm
    assert target.affected_ci_ids == []


def test_children_of_the_duplicate_move_to_the_target(session: Session) -> None:
    target, duplicate, child = f.incident(session), f.incident(session), f.incident(session)
    hierarchy.link_child(session, SYSTEM, duplicate, child)
    merge.merge(session, SYSTEM, duplicate, target)
    assert child.parent_id == target.id
    assert target.major is True
    assert duplicate.state == S.CANCELLED


def test_a_merged_duplicate_takes_no_more_notes(session: Session) -> None:
    target, duplicate = f.incident(session), f.incident(session)
    merge.merge(session, SYSTEM, duplicate, target)
    with pytest.raises(Conflict, match=target.number):
        timeline.add_note(session, SYSTEM, duplicate, "late news")


def test_merge_into_itself_is_refused(session: Session) -> None:
    incident = f.incident(session)
    with pytest.raises(ValidationFailed) as info:
        merge.merge(session, SYSTEM, incident, incident)
    assert "into_id" in info.value.errors


@pytest.mark.parametrize("state", [S.RESOLVED, S.CLOSED, S.CANCELLED])
def test_only_open_duplicates_merge(session: Session, state: IncidentState) -> None:
    with pytest.raises(Conflict):
        merge.merge(session, SYSTEM, f.incident_in(session, state), f.incident(session))


@pytest.mark.parametrize("state", [S.CLOSED, S.CANCELLED])
def test_final_targets_are_refused(session: Session, state: IncidentState) -> None:
    with pytest.raises(Conflict) as info:
        merge.merge(session, SYSTEM, f.incident(session), f.incident_in(session, state))
    assert "into_id" in info.value.errors


def test_a_resolved_target_is_fine(session: Session) -> None:
    target = f.incident_in(session, S.RESOLVED)
    duplicate = f.incident(session)
    merge.merge(session, SYSTEM, duplicate, target)
    assert duplicate.merged_into_id == target.id


def test_a_parent_cannot_merge_into_its_own_child(session: Session) -> None:
    parent, child = f.incident(session), f.incident(session)
    hierarchy.link_child(session, SYSTEM, parent, child)
    with pytest.raises(ValidationFailed, match="unlink it first"):
        merge.merge(session, SYSTEM, parent, child)


def test_a_child_can_merge_into_its_parent(session: Session) -> None:
    parent, child = f.incident(session), f.incident(session)
    hierarchy.link_child(session, SYSTEM, parent, child)
    merge.merge(session, SYSTEM, child, parent)
    assert child.state == S.CANCELLED


def test_children_cannot_move_under_a_child(session: Session) -> None:
    top, target, duplicate, grandchild = (f.incident(session) for _ in range(4))
    hierarchy.link_child(session, SYSTEM, top, target)
    hierarchy.link_child(session, SYSTEM, duplicate, grandchild)
    with pytest.raises(ValidationFailed):
        merge.merge(session, SYSTEM, duplicate, target)


def test_merge_by_id_names_the_missing_one(session: Session) -> None:
    incident = f.incident(session)
    with pytest.raises(NotFound) as info:
        merge.merge_by_id(session, SYSTEM, incident.id, 999)
    assert "into_id" in info.value.errors
    with pytest.raises(NotFound) as info:
        merge.merge_by_id(session, SYSTEM, 999, incident.id)
    assert "id" in info.value.errors
