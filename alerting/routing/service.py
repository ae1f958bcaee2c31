"""Routing rules: create, edit, reorder, delete; every change is audited.

Each write checks what the schemas cannot (the group, users, plan and sites exist; the
CI classes are registered), keeps the positions a dense 1..n sequence, and moves the
routing generation so every process recompiles its rule set.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerting.routing import generation
from alerting.routing.models import ContingencyPlan, RoutingRule
from alerting.routing.schemas import MAX_RULES, RulePatch, RuleSpec
from itsm_core import audit
from itsm_core.actor import Actor
from itsm_core.cmdb.classes import SITE, class_names
from itsm_core.cmdb.models import ConfigurationItem
from itsm_core.errors import Conflict, NotFound, ValidationFailed
from itsm_core.people.models import Group, User

_JSON_FIELDS = {"matchers", "severities", "site_kinds"}


def list_rules(session: Session, *, for_update: bool = False) -> list[RoutingRule]:
    """Every rule in matching order."""
    stmt = select(RoutingRule).order_by(RoutingRule.position, RoutingRule.id)
    return list(session.scalars(stmt.with_for_update() if for_update else stmt))


def get_rule(session: Session, rule_id: int, *, for_update: bool = False) -> RoutingRule:
    rule = session.get(RoutingRule, rule_id, with_for_update=True if for_update else None)
    if rule is None:
        raise NotFound(
            f"routing rule {rule_id} does not exist", errors={"id": [f"no routing rule {rule_id}"]}
        )
    return rule


def find_rule(session: Session, name: str) -> RoutingRule | None:
    return session.scalar(select(RoutingRule).where(RoutingRule.name == name))


def columns(spec: RuleSpec) -> dict[str, Any]:
    """The stored form of a spec (lists as JSON values); ``position`` is not a column."""
    data = spec.model_dump(exclude={"position"} | _JSON_FIELDS)
    data.update(spec.model_dump(mode="json", include=_JSON_FIELDS))
    return data


def spec_of(rule: RoutingRule) -> RuleSpec:
    """The rule as a spec, to merge a patch into or compare with a rule file."""
    names = set(RuleSpec.model_fields) - {"position"}
    return RuleSpec.model_validate({name: getattr(rule, name) for name in names})


def reference_errors(session: Session, spec: RuleSpec) -> dict[str, list[str]]:
    """What in ``spec`` names something that does not exist (or may not be used)."""
    errors: dict[str, list[str]] = {}
    if (
        spec.assignment_group_id is not None
        and session.get(Group, spec.assignment_group_id) is None
    ):
        errors["assignment_group_id"] = [f"no group {spec.assignment_group_id}"]
    for field in ("first_responsible_id", "second_responsible_id"):
        user_id = getattr(spec, field)
        user = session.get(User, user_id) if user_id is not None else None
        if user_id is not None and user is None:
            errors[field] = [f"no user {user_id}"]
        elif user is not None and not user.active:
            errors[field] = [f"user {user.username!r} is inactive"]
    plan_id = spec.contingency_plan_id
    if plan_id is not None and session.get(ContingencyPlan, plan_id) is None:
        errors["contingency_plan_id"] = [f"no contingency plan {plan_id}"]
    unknown = [name for name in spec.ci_classes if name not in class_names()]
    if unknown:
        errors["ci_classes"] = [
            f"unknown CI class {name!r}; one of: {', '.join(class_names())}" for name in unknown
        ]
    if spec.site_ids:
        found = dict(
            session.execute(
                select(ConfigurationItem.id, ConfigurationItem.ci_class).where(
                    ConfigurationItem.id.in_(spec.site_ids)
                )
            ).all()
        )
        problems = [
            f"no CI {ci_id}"
            if ci_id not in found
            else f"CI {ci_id} is a {found[ci_id]}, not a site"
            for ci_id in spec.site_ids
            if found.get(ci_id) != SITE
        ]
        if problems:
            errors["site_ids"] = problems
    return errors


def _check(session: Session, spec: RuleSpec, own_id: int | None) -> None:
    taken = find_rule(session, spec.name)
    if taken is not None and taken.id != own_id:
        raise Conflict(f"routing rule {spec.name!r} already exists", errors={"name": ["taken"]})
    errors = reference_errors(session, spec)
    if errors:
        raise ValidationFailed(
            "; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()), errors=errors
        )


def _view(rule: RoutingRule) -> dict[str, Any]:
    return {"position": rule.position, **columns(spec_of(rule))}


def _place(session: Session, rule: RoutingRule, position: int | None) -> None:
    """Put ``rule`` at 1-based ``position`` (None: last) and renumber everyone 1..n."""
    others = [r for r in list_rules(session, for_update=True) if r.id != rule.id]
    index = len(others) if position is None else min(position - 1, len(others))
    others.insert(index, rule)
    _renumber(others)


def _renumber(rules: Sequence[RoutingRule]) -> None:
    for number, rule in enumerate(rules, start=1):
        if rule.position != number:
            rule.position = number


def create_rule(session: Session, actor: Actor, spec: RuleSpec) -> RoutingRule:
    """Store a new rule at ``spec.position`` (or last)."""
    count = session.scalar(select(func.count()).select_from(RoutingRule)) or 0
    if count >= MAX_RULES:
        raise Conflict(f"there are already {MAX_RULES} routing rules, the most allowed")
    with session.no_autoflush:
        _check(session, spec, None)
    rule = RoutingRule(position=count + 1, **columns(spec))
    session.add(rule)
    session.flush()
    _place(session, rule, spec.position)
    session.flush()
    generation.bump(session)
    audit.record(session, actor, "routing_rule.create", "routing_rule", rule.id, after=_view(rule))
    return rule


def update_rule(
    session: Session, actor: Actor, rule: RoutingRule, patch: RulePatch | RuleSpec
) -> RoutingRule:
    """Apply the fields ``patch`` sets; a ``RuleSpec`` replaces every field (and moves the
    rule only if it names a position)."""
    changes = patch.model_dump(exclude_unset=isinstance(patch, RulePatch))
    position = changes.pop("position", None)
    current = spec_of(rule)
    try:
        spec = RuleSpec.model_validate({**current.model_dump(), **changes})
    except ValidationError as exc:
        raise _as_validation_failed(exc) from exc
    new_columns = columns(spec)
    moved = position is not None and position != rule.position
    if new_columns == columns(current) and not moved:
        return rule
    before = _view(rule)
    with session.no_autoflush:
        _check(session, spec, rule.id)
    for field, value in new_columns.items():
        setattr(rule, field, value)
    if moved:
        _place(session, rule, position)
    session.flush()
    generation.bump(session)
    audit.record(
        session,
        actor,
        "routing_rule.update",
        "routing_rule",
        rule.id,
        before=before,
        after=_view(rule),
    )
    return rule


def delete_rule(session: Session, actor: Actor, rule: RoutingRule) -> None:
    before = _view(rule)
    session.delete(rule)
    session.flush()
    _renumber(list_rules(session, for_update=True))
    session.flush()
    generation.bump(session)
    audit.record(session, actor, "routing_rule.delete", "routing_rule", rule.id, before=before)


def reorder(session: Session, actor: Actor, rule_ids: Sequence[int]) -> list[RoutingRule]:
    """Set the matching order: ``rule_ids`` must name every rule exactly once."""
    rules = {rule.id: rule for rule in list_rules(session, for_update=True)}
    before = list(rules)
    duplicates = sorted(i for i, n in Counter(rule_ids).items() if n > 1)
    unknown = [i for i in rule_ids if i not in rules]
    missing = [i for i in rules if i not in set(rule_ids)]
    problems = (
        [f"rule {i} is listed more than once" for i in duplicates]
        + [f"no routing rule {i}" for i in unknown]
        + [f"rule {i} is missing" for i in missing]
    )
    if problems:
        raise ValidationFailed(
            "rule_ids must list every routing rule exactly once", errors={"rule_ids": problems}
        )
    ordered = [rules[i] for i in rule_ids]
    if before == list(rule_ids):
        return ordered
    _renumber(ordered)
    session.flush()
    generation.bump(session)
    audit.record(
        session,
        actor,
        "routing_rule.reorder",
        "routing_rule",
        "*",
        before={"order": before},
        after={"order": list(rule_ids)},
    )
    return ordered


def _as_validation_failed(exc: ValidationError) -> ValidationFailed:
    errors: dict[str, list[str]] = {}
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "body"
        errors.setdefault(key, []).append(err["msg"])
    detail = "; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items())
    return ValidationFailed(detail, errors=errors)
