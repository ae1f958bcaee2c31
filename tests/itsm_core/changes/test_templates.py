"""Standard-change templates: managing them and making pre-approved changes from them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from itsm_core.actor import SYSTEM
from itsm_core.audit.models import AuditEntry
from itsm_core.changes import templates
from itsm_core.changes.choices import ChangeState, ChangeType, EventKind, Risk
from itsm_core.changes.models import ApprovalRequirement, Change, ChangeEvent
from itsm_core.cmdb.choices import Criticality
from itsm_core.errors import Conflict, Forbidden, ValidationFailed
from itsm_core.timeutil import utcnow
from tests.itsm_core.changes import factories as f

S = ChangeState


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Change)) or 0


def test_a_template_change_is_scheduled_as_pre_approved(session: Session) -> None:
    b = f.board(session)
    template = f.template(session, name="Reboot a stateless gateway VM")
    change = templates.create_from_template(session, b.as_requester, template, ci_ids=[b.ci.id])
    assert change.state is S.SCHEDULED
    assert change.change_type is ChangeType.STANDARD
    assert change.template_id == template.id
    assert change.title == "Reboot a stateless gateway VM"
    assert change.category == "vm.reboot"
    assert change.implementation_plan == template.implementation_plan
    assert change.backout_plan == template.backout_plan
    assert change.approved_at is not None
    requirements = session.scalar(
        select(func.count())
        .select_from(ApprovalRequirement)
        .where(ApprovalRequirement.change_id == change.id)
    )
    assert requirements == 0
    actions = session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.entity_type == "change", AuditEntry.entity_id == str(change.id))
        .order_by(AuditEntry.id)
    ).all()
    assert actions == ["change.create", "change.pre_approve"]
    event = session.scalars(
        select(ChangeEvent).where(
            ChangeEvent.change_id == change.id, ChangeEvent.kind == EventKind.PRE_APPROVED
        )
    ).one()
    assert event.data["template_id"] == template.id
    assert event.to_state is S.SCHEDULED


def test_the_window_defaults_to_now_for_the_template_duration(session: Session) -> None:
    b = f.board(session)
    template = f.template(session, default_duration_minutes=30)
    now = utcnow()
    change = templates.create_from_template(
        session, b.as_requester, template, ci_ids=[b.ci.id], now=now
    )
    assert change.planned_start == now
    assert change.planned_end == now + timedelta(minutes=30)


def test_risk_is_the_template_default_raised_by_the_cis(session: Session) -> None:
    b = f.board(session)
    important = f.ci(session, "lis-app", criticality=Criticality.HIGH)
    template = f.template(session, default_risk=Risk.LOW)
    change = templates.create_from_template(
        session, b.as_requester, template, ci_ids=[important.id]
    )
    assert change.risk is Risk.MEDIUM


@pytest.mark.parametrize(
    ("ci_kwargs", "template_kwargs", "message"),
    [
        ({"ci_class": "database"}, {"ci_classes": ["vm"]}, "is a database, not vm"),
        ({"tags": ["prod"]}, {"ci_tags": ["stateless", "prod"]}, "lacks tag"),
        (
            {"criticality": Criticality.HIGH},
            {"max_criticality": Criticality.NORMAL},
            "is high, above normal",
        ),
        ({"criticality": Criticality.CLINICAL_CRITICAL}, {}, "high-risk change"),
    ],
)
def test_cis_outside_the_template_are_refused_and_nothing_is_made(
    session: Session,
    ci_kwargs: dict[str, object],
    template_kwargs: dict[str, object],
    message: str,
) -> None:
    b = f.board(session)
    item = f.ci(session, **ci_kwargs)  # type: ignore[arg-type]
    template = f.template(session, **template_kwargs)
    with pytest.raises(ValidationFailed, match=message) as caught:
        templates.create_from_template(session, b.as_requester, template, ci_ids=[item.id])
    assert "ci_ids" in caught.value.errors
    assert _count(session) == 0


def test_matching_cis_pass_every_condition(session: Session) -> None:
    b = f.board(session)
    item = f.ci(session, tags=["stateless", "prod", "dmz"], criticality=Criticality.HIGH)
    template = f.template(session, ci_tags=["stateless", "prod"], max_criticality=Criticality.HIGH)
    change = templates.create_from_template(session, b.as_requester, template, ci_ids=[item.id])
    assert change.state is S.SCHEDULED


def test_a_standard_change_names_its_cis(session: Session) -> None:
    b = f.board(session)
    with pytest.raises(ValidationFailed, match="names the CIs"):
        templates.create_from_template(session, b.as_requester, f.template(session), ci_ids=[])


def test_a_retired_template_makes_nothing(session: Session) -> None:
    b = f.board(session)
    template = f.template(session)
    templates.update_template(session, SYSTEM, template, {"active": False})
    with pytest.raises(Conflict, match="retired"):
        templates.create_from_template(session, b.as_requester, template, ci_ids=[b.ci.id])
    assert _count(session) == 0


def test_an_overlap_with_a_committed_change_refuses_before_making_anything(
    session: Session,
) -> None:
    b = f.board(session)
    scheduled = f.approved(session, b)
    before = _count(session)
    start, end = f.window()
    with pytest.raises(Conflict) as caught:
        f.standard(session, b, planned_start=start, planned_end=end)
    assert scheduled.number in caught.value.errors["conflicts"][0]
    assert _count(session) == before


def test_a_change_manager_may_force_a_standard_change_past_an_overlap(session: Session) -> None:
    b = f.board(session)
    f.approved(session, b)
    template = f.template(session)
    with pytest.raises(Forbidden):
        templates.create_from_template(
            session, b.as_requester, template, ci_ids=[b.ci.id], force=True, reason="x"
        )
    change = templates.create_from_template(
        session, b.as_manager, template, ci_ids=[b.ci.id], force=True, reason="VM hung; P1"
    )
    assert change.state is S.SCHEDULED


def test_an_overlap_with_a_draft_does_not_block(session: Session) -> None:
    b = f.board(session)
    f.draft(session, b)
    assert f.standard(session, b).state is S.SCHEDULED


def test_a_standard_change_starts_and_closes_like_any_other(session: Session) -> None:
    from itsm_core.changes import lifecycle
    from itsm_core.changes.choices import ReviewOutcome

    b = f.board(session)
    change = f.standard(session, b)
    for target in (S.IMPLEMENTING, S.REVIEW):
        lifecycle.transition(session, b.as_requester, change, target)
    lifecycle.transition(
        session, b.as_requester, change, S.CLOSED, review_outcome=ReviewOutcome.SUCCESSFUL
    )
    assert change.state is S.CLOSED


# --- managing templates --------------------------------------------------------------------


def test_template_names_are_unique(session: Session) -> None:
    f.template(session, name="reboot")
    with pytest.raises(Conflict) as caught:
        f.template(session, name=" reboot ")
    assert caught.value.errors == {"name": ["taken"]}


def test_a_template_is_never_high_risk(session: Session) -> None:
    with pytest.raises(ValidationFailed) as caught:
        f.template(session, default_risk=Risk.HIGH)
    assert "default_risk" in caught.value.errors


@pytest.mark.parametrize("plan", ["implementation_plan", "backout_plan"])
def test_a_template_carries_both_plans(session: Session, plan: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        f.template(session, **{plan: "  "})
    assert plan in caught.value.errors


def test_conditions_are_stored_deduplicated_and_sorted(session: Session) -> None:
    template = f.template(session, ci_classes=["vm", "vm"], ci_tags=["b", "a", "b"])
    assert template.ci_classes == ["vm"]
    assert template.ci_tags == ["a", "b"]


def test_editing_a_template_is_audited(session: Session) -> None:
    template = f.template(session, name="restart")
    templates.update_template(
        session, SYSTEM, template, {"name": "restart-gw", "default_duration_minutes": 15}
    )
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "change_template.update")
    ).one()
    assert entry.before is not None
    assert entry.after is not None
    assert (entry.before["name"], entry.after["name"]) == ("restart", "restart-gw")
    assert entry.after["default_duration_minutes"] == 15


def test_renaming_onto_another_template_is_refused(session: Session) -> None:
    f.template(session, name="a")
    second = f.template(session, name="b")
    with pytest.raises(Conflict):
        templates.update_template(session, SYSTEM, second, {"name": "a"})
    templates.update_template(session, SYSTEM, second, {"name": "b"})


def test_unknown_template_fields_are_refused(session: Session) -> None:
    template = f.template(session)
    with pytest.raises(ValidationFailed):
        templates.update_template(session, SYSTEM, template, {"id": 5})
