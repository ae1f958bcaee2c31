"""Rules and plans as stored: positions, references, conflicts, audit."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerting.routing import generation, plans, service
from alerting.routing.models import RoutingRule
from alerting.routing.schemas import PlanPatch, RulePatch, RuleSpec
from itsm_core.actor import SYSTEM
from itsm_core.audit.models import AuditEntry
from itsm_core.errors import Conflict, ValidationFailed
from tests.alerting.routing.factories import make_group, make_plan, make_rule, make_user
from tests.itsm_core.cmdb.factories import make_ci


def _order(session: Session) -> list[tuple[int, str]]:
    return [(r.position, r.name) for r in service.list_rules(session)]


def test_positions_stay_dense_through_insert_move_and_delete(session: Session) -> None:
    make_rule(session, "a")
    b = make_rule(session, "b")
    make_rule(session, "c")
    first = make_rule(session, "first", position=1)
    make_rule(session, "beyond-the-end", position=99)
    assert _order(session) == [(1, "first"), (2, "a"), (3, "b"), (4, "c"), (5, "beyond-the-end")]

    service.update_rule(session, SYSTEM, b, RulePatch(position=5))
    assert [name for _, name in _order(session)] == ["first", "a", "c", "beyond-the-end", "b"]

    service.delete_rule(session, SYSTEM, service.get_rule(session, b.id))
    service.delete_rule(session, SYSTEM, first)
    assert _order(session) == [(1, "a"), (2, "c"), (3, "beyond-the-end")]


def test_reorder_needs_every_rule_exactly_once(session: Session) -> None:
    a, b, c = (make_rule(session, name) for name in "abc")

    service.reorder(session, SYSTEM, [c.id, a.id, b.id])
    assert [name for _, name in _order(session)] == ["c", "a", "b"]

    for bad in ([a.id, b.id], [a.id, b.id, c.id, c.id], [a.id, b.id, c.id, 999]):
        with pytest.raises(ValidationFailed) as refused:
            service.reorder(session, SYSTEM, bad)
        assert refused.value.errors["rule_ids"]
    assert [name for _, name in _order(session)] == ["c", "a", "b"]


def test_references_are_checked_and_keyed_by_field(session: Session) -> None:
    user = make_user(session)
    user.active = False
    vm = make_ci(session, "vm", "not-a-site")
    session.flush()
    spec = RuleSpec(
        name="bad",
        assignment_group_id=4242,
        first_responsible_id=user.id,
        second_responsible_id=4343,
        contingency_plan_id=4444,
        ci_classes=["network_device", "toaster"],
        site_ids=[vm.id, 4545],
    )

    with pytest.raises(ValidationFailed) as refused:
        service.create_rule(session, SYSTEM, spec)

    errors = refused.value.errors
    assert errors["assignment_group_id"] == ["no group 4242"]
    assert "inactive" in errors["first_responsible_id"][0]
    assert errors["second_responsible_id"] == ["no user 4343"]
    assert errors["contingency_plan_id"] == ["no contingency plan 4444"]
    assert len(errors["ci_classes"]) == 1
    assert "toaster" in errors["ci_classes"][0]
    assert errors["site_ids"] == [f"CI {vm.id} is a vm, not a site", "no CI 4545"]
    assert session.scalars(select(RoutingRule)).all() == []


def test_rule_names_are_unique(session: Session) -> None:
    make_rule(session, "same")
    other = make_rule(session, "other")

    with pytest.raises(Conflict):
        make_rule(session, "same")
    with pytest.raises(Conflict):
        service.update_rule(session, SYSTEM, other, RulePatch(name="same"))


def test_second_responsible_needs_a_different_first(session: Session) -> None:
    one, two = make_user(session), make_user(session)
    with pytest.raises(ValidationError, match="needs a first_responsible_id"):
        RuleSpec(name="r", second_responsible_id=two.id)
    with pytest.raises(ValidationError, match="must differ"):
        RuleSpec(name="r", first_responsible_id=one.id, second_responsible_id=one.id)

    rule = make_rule(session, first_responsible_id=one.id, second_responsible_id=two.id)
    # A patch is checked against the merged rule, keyed by the field it breaks.
    with pytest.raises(ValidationFailed) as refused:
        service.update_rule(session, SYSTEM, rule, RulePatch(first_responsible_id=two.id))
    assert "second_responsible_id" in refused.value.errors


def test_patch_changes_only_what_it_names_and_a_no_op_writes_nothing(session: Session) -> None:
    group = make_group(session)
    rule = make_rule(
        session, matchers=[{"label": "job", "value": "snmp"}], assignment_group_id=group.id
    )
    token = generation.current(session)
    audits = session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))

    service.update_rule(session, SYSTEM, rule, RulePatch(assignment_group_id=group.id))
    assert generation.current(session) == token
    assert session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1)) == audits

    service.update_rule(session, SYSTEM, rule, RulePatch.model_validate({"urgency": "high"}))
    assert rule.urgency == "high"
    assert rule.assignment_group_id == group.id
    assert rule.matchers == [{"label": "job", "op": "=", "value": "snmp"}]
    assert generation.current(session) != token


def test_every_write_is_audited(session: Session) -> None:
    plan = make_plan(session)
    rule = make_rule(session, contingency_plan_id=plan.id)
    service.update_rule(session, SYSTEM, rule, RulePatch(enabled=False))
    other = make_rule(session)
    service.reorder(session, SYSTEM, [other.id, rule.id])
    service.delete_rule(session, SYSTEM, other)
    plans.update_plan(session, SYSTEM, plan, PlanPatch(title="new"))

    actions = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert [a for a in actions if a.startswith(("routing_rule", "contingency_plan"))] == [
        "contingency_plan.create",
        "routing_rule.create",
        "routing_rule.update",
        "routing_rule.create",
        "routing_rule.reorder",
        "routing_rule.delete",
        "contingency_plan.update",
    ]


def test_a_plan_in_use_cannot_be_deleted(session: Session) -> None:
    plan = make_plan(session, "in-use")
    unused = make_plan(session, "unused")
    rule = make_rule(session, contingency_plan_id=plan.id)

    with pytest.raises(Conflict, match="used by 1 routing rule"):
        plans.delete_plan(session, SYSTEM, plan)
    plans.delete_plan(session, SYSTEM, unused)
    service.delete_rule(session, SYSTEM, rule)
    plans.delete_plan(session, SYSTEM, plan)
    assert plans.list_plans(session) == []


def test_plan_names_are_unique(session: Session) -> None:
    make_plan(session, "a")
    b = make_plan(session, "b")
    with pytest.raises(Conflict):
        make_plan(session, "a")
    with pytest.raises(Conflict):
        plans.update_plan(session, SYSTEM, b, PlanPatch(name="a"))


def test_the_number_of_rules_is_capped(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "MAX_RULES", 2)
    make_rule(session)
    make_rule(session)
    with pytest.raises(Conflict, match="most allowed"):
        make_rule(session)
