"""Raising and editing RFCs: validation, risk from CI criticality, links, audit, search."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from itsm_core.actor import SYSTEM
from itsm_core.audit.models import AuditEntry
from itsm_core.changes import service
from itsm_core.changes.choices import ChangeState, ChangeType, Risk
from itsm_core.changes.models import Change
from itsm_core.cmdb.choices import Criticality
from itsm_core.errors import Conflict, NotFound, ValidationFailed
from tests.itsm_core.changes import factories as f

S = ChangeState


def test_a_new_rfc_records_who_asked_and_what_it_touches(session: Session) -> None:
    b = f.board(session)
    incident = f.incident(session)
    change = f.draft(session, b, incident_ids=[incident.id], problem_ids=[7, 3, 7])
    assert change.state is S.NEW
    assert change.number == f"CHG{change.id:06d}"
    assert change.requested_by == "requester"
    assert change.requester_id == b.requester.id
    assert change.ci_ids == [b.ci.id]
    assert change.incident_ids == [incident.id]
    assert change.problem_ids == [3, 7]
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "change.create")).one()
    assert entry.after is not None
    assert entry.after["ci_ids"] == [b.ci.id]


def test_the_system_may_raise_a_change(session: Session) -> None:
    change = service.create_change(session, SYSTEM, title="nightly rotation")
    assert change.requester_id is None
    assert change.requested_by == "system"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"planned_end": None}, "planned_end"),
        ({"planned_start": None}, "planned_start"),
        ({"title": "   "}, "title"),
        ({"ci_ids": [999_999]}, "ci_ids"),
        ({"incident_ids": [999_999]}, "incident_ids"),
        ({"problem_ids": [0]}, "problem_ids"),
        ({"implementer_id": 999_999}, "implementer_id"),
        ({"change_type": ChangeType.STANDARD}, "change_type"),
    ],
)
def test_bad_rfcs_are_refused_by_field(
    session: Session, overrides: dict[str, Any], field: str
) -> None:
    b = f.board(session)
    with pytest.raises(ValidationFailed) as caught:
        f.draft(session, b, **overrides)
    assert field in caught.value.errors
    assert session.scalars(select(Change)).all() == []


@pytest.mark.parametrize("length", [timedelta(0), timedelta(hours=-1)])
def test_the_window_ends_after_it_starts(session: Session, length: timedelta) -> None:
    b = f.board(session)
    start, _ = f.window()
    with pytest.raises(ValidationFailed, match="after planned_start"):
        f.draft(session, b, planned_start=start, planned_end=start + length)


@pytest.mark.parametrize(
    ("criticality", "floor"),
    [
        (Criticality.LOW, Risk.LOW),
        (Criticality.NORMAL, Risk.LOW),
        (Criticality.HIGH, Risk.MEDIUM),
        (Criticality.CLINICAL_CRITICAL, Risk.HIGH),
    ],
)
def test_risk_defaults_to_the_floor_set_by_the_most_critical_ci(
    session: Session, criticality: Criticality, floor: Risk
) -> None:
    b = f.board(session)
    item = f.ci(session, criticality=criticality)
    change = f.draft(session, b, risk=None, ci_ids=[b.ci.id, item.id])
    assert change.risk is floor


def test_risk_may_be_raised_but_not_lowered_below_the_floor(session: Session) -> None:
    b = f.board(session)
    emr = f.ci(session, "emr-db", criticality=Criticality.CLINICAL_CRITICAL)
    with pytest.raises(ValidationFailed, match="'emr-db' is clinical_critical") as caught:
        f.draft(session, b, risk=Risk.MEDIUM, ci_ids=[emr.id])
    assert "risk" in caught.value.errors
    assert f.draft(session, b, risk=Risk.HIGH).risk is Risk.HIGH


def test_get_change_names_the_missing_id(session: Session) -> None:
    with pytest.raises(NotFound, match="change 42"):
        service.get_change(session, 42)


# --- editing -----------------------------------------------------------------------------


def test_an_edit_changes_only_what_was_given_and_audits_the_difference(
    session: Session,
) -> None:
    b = f.board(session)
    change = f.draft(session, b)
    service.update_change(
        session, b.as_requester, change, {"title": "Patch gw (rev 2)", "description": "new"}
    )
    assert change.title == "Patch gw (rev 2)"
    assert change.implementation_plan == "apt upgrade; reboot"
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "change.update")).one()
    assert entry.before == {"title": "Patch the telemedicine gateway", "description": ""}
    assert entry.after == {"title": "Patch gw (rev 2)", "description": "new"}


def test_an_edit_that_changes_nothing_records_nothing(session: Session) -> None:
    b = f.board(session)
    change = f.draft(session, b)
    service.update_change(session, b.as_requester, change, {"title": change.title})
    updates = session.scalars(select(AuditEntry).where(AuditEntry.action == "change.update")).all()
    assert updates == []


@pytest.mark.parametrize("state", [S.NEW, S.ASSESSMENT])
def test_editable_while_new_or_in_assessment(session: Session, state: ChangeState) -> None:
    b = f.board(session)
    change = f.in_state(session, b, state)
    service.update_change(session, b.as_requester, change, {"category": "os.patch"})
    assert change.category == "os.patch"


@pytest.mark.parametrize(
    "state",
    [s for s in ChangeState if s not in (S.NEW, S.ASSESSMENT)],
)
def test_frozen_once_judged(session: Session, state: ChangeState) -> None:
    b = f.board(session)
    change = f.in_state(session, b, state)
    with pytest.raises(Conflict, match="only while new or in assessment") as caught:
        service.update_change(session, b.as_requester, change, {"title": "sneaky"})
    assert "state" in caught.value.errors


def test_linking_a_critical_ci_raises_the_risk_and_unlinking_never_lowers_it(
    session: Session,
) -> None:
    b = f.board(session)
    emr = f.ci(session, "emr-db", criticality=Criticality.CLINICAL_CRITICAL)
    change = f.draft(session, b)
    service.update_change(session, b.as_requester, change, {"ci_ids": [b.ci.id, emr.id]})
    assert change.risk is Risk.HIGH
    service.update_change(session, b.as_requester, change, {"ci_ids": [b.ci.id]})
    assert change.risk is Risk.HIGH
    service.update_change(session, b.as_requester, change, {"risk": Risk.LOW})
    assert change.risk is Risk.LOW
    with pytest.raises(ValidationFailed):
        service.update_change(session, b.as_requester, change, {"ci_ids": [emr.id], "risk": "low"})


def test_edits_keep_the_window_whole(session: Session) -> None:
    b = f.board(session)
    change = f.draft(session, b)
    assert change.planned_start is not None
    with pytest.raises(ValidationFailed, match="after planned_start"):
        service.update_change(
            session,
            b.as_requester,
            change,
            {"planned_end": change.planned_start - timedelta(minutes=1)},
        )
    service.update_change(
        session, b.as_requester, change, {"planned_start": None, "planned_end": None}
    )
    assert not change.has_window


def test_edits_relink_incidents_and_problems(session: Session) -> None:
    b = f.board(session)
    first, second = f.incident(session), f.incident(session, "PACS down")
    change = f.draft(session, b, incident_ids=[first.id])
    service.update_change(
        session, b.as_requester, change, {"incident_ids": [second.id], "problem_ids": [9]}
    )
    assert change.incident_ids == [second.id]
    assert change.problem_ids == [9]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"state": "closed"}, "state"),
        ({"change_type": "standard"}, "change_type"),
        ({"implementer_id": 999_999}, "implementer_id"),
        ({"title": ""}, "title"),
    ],
)
def test_bad_edits_are_refused(session: Session, fields: dict[str, Any], field: str) -> None:
    b = f.board(session)
    change = f.draft(session, b)
    with pytest.raises(ValidationFailed) as caught:
        service.update_change(session, b.as_requester, change, fields)
    assert field in caught.value.errors


def test_a_normal_change_may_become_an_emergency(session: Session) -> None:
    b = f.board(session)
    change = f.draft(session, b)
    service.update_change(session, b.as_requester, change, {"change_type": "emergency"})
    assert change.change_type is ChangeType.EMERGENCY


# --- search ------------------------------------------------------------------------------


def test_search_filters_combine(session: Session) -> None:
    b = f.board(session)
    other = f.ci(session, "pacs")
    start, end = f.window()
    window = {"planned_start": start, "planned_end": end}
    gw = f.draft(session, b, title="gw", **window)
    f.draft(session, b, title="pacs", ci_ids=[other.id], risk=Risk.MEDIUM, **window)
    f.in_state(
        session, b, S.ASSESSMENT, title="assessed", change_type=ChangeType.EMERGENCY, **window
    )
    service.create_change(session, SYSTEM, title="by the system")

    def titles(**filters: Any) -> set[str]:
        return {c.title for c in session.scalars(service.search(**filters))}

    assert titles(ci_id=b.ci.id) == {"gw", "assessed"}
    assert titles(states=[S.ASSESSMENT]) == {"assessed"}
    assert titles(types=[ChangeType.EMERGENCY]) == {"assessed"}
    assert titles(risks=[Risk.MEDIUM]) == {"pacs"}
    assert titles(requester_id=b.requester.id) == {"gw", "pacs", "assessed"}
    assert titles(window_start=end) == set()
    assert titles(window_end=start) == set()
    assert titles(window_start=start, window_end=end, ci_id=other.id) == {"pacs"}
    assert titles(window_start=end - timedelta(seconds=1)) == {"gw", "pacs", "assessed"}
    assert gw.id in {c.id for c in session.scalars(service.search())}
    with pytest.raises(ValidationFailed):
        service.search(window_start=end, window_end=end)
