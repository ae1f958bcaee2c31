"""Loading a rule file into the database: resolve names, check everything, then write.

Loading checks the whole file before writing anything it would keep: every error is
reported at once, keyed by its place in the file (``rules[3].route.group``, the index
counted from 0 as in the file's list) with the rule's name in the message. Plans and
rules are upserted by name; the file's rules then come first, in the file's order,
followed by rules only the database has (or those are deleted with ``prune``). The
caller's transaction makes it all or nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerting.routing import plans, service
from alerting.routing.choices import FROM_SEVERITY
from alerting.routing.models import ContingencyPlan, RoutingRule
from alerting.routing.rulefile import FileRule, RuleFile, summarize
from alerting.routing.schemas import RuleSpec
from itsm_core.actor import Actor
from itsm_core.cmdb.classes import SITE
from itsm_core.cmdb.models import ConfigurationItem
from itsm_core.errors import ValidationFailed
from itsm_core.incidents.choices import Level
from itsm_core.people.models import Group, User

# Where a RuleSpec field lives in the file (to key the service's errors the file's way).
_FILE_FIELD = {
    "assignment_group_id": "route.group",
    "first_responsible_id": "route.first_responsible",
    "second_responsible_id": "route.second_responsible",
    "contingency_plan_id": "route.contingency_plan",
    "ci_classes": "match.ci_classes",
    "site_ids": "match.sites",
}


@dataclass
class LoadReport:
    """What a load changed."""

    plans_created: int = 0
    plans_updated: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    reordered: bool = False


def load(session: Session, actor: Actor, rule_file: RuleFile, *, prune: bool = False) -> LoadReport:
    """Upsert the file's plans and rules (by name) and put the rules in the file's order."""
    report = LoadReport()
    for plan_spec in rule_file.plans:
        plan = plans.find_plan(session, plan_spec.name)
        if plan is None:
            plans.create_plan(session, actor, plan_spec)
            report.plans_created += 1
        elif (plan.title, plan.steps) != (plan_spec.title, plan_spec.steps):
            plans.update_plan(session, actor, plan, plan_spec)
            report.plans_updated += 1
    specs = _resolve_all(session, rule_file)
    keep: list[RoutingRule] = []
    for spec in specs:
        existing = service.find_rule(session, spec.name)
        if existing is None:
            keep.append(service.create_rule(session, actor, spec))
            report.created += 1
        elif service.columns(spec) == service.columns(service.spec_of(existing)):
            keep.append(existing)
            report.unchanged += 1
        else:
            keep.append(service.update_rule(session, actor, existing, spec))
            report.updated += 1
    kept_ids = {rule.id for rule in keep}
    others = [rule for rule in service.list_rules(session) if rule.id not in kept_ids]
    if prune:
        for rule in others:
            service.delete_rule(session, actor, rule)
        report.deleted = len(others)
        others = []
    order = [rule.id for rule in keep + others]
    if order and order != [rule.id for rule in service.list_rules(session)]:
        service.reorder(session, actor, order)
        report.reordered = True
    return report


@dataclass
class _Names:
    """Name → id tables for one load (read once, not per rule)."""

    groups: dict[str, int]
    users: dict[str, int]
    plans: dict[str, int]
    sites: dict[str, list[int]]

    @classmethod
    def read(cls, session: Session) -> _Names:
        sites: dict[str, list[int]] = {}
        for site_id, name in session.execute(
            select(ConfigurationItem.id, ConfigurationItem.name).where(
                ConfigurationItem.ci_class == SITE
            )
        ):
            sites.setdefault(name, []).append(site_id)
        return cls(
            groups={g.name: g.id for g in session.scalars(select(Group))},
            users={u.username: u.id for u in session.scalars(select(User))},
            plans={p.name: p.id for p in session.scalars(select(ContingencyPlan))},
            sites=sites,
        )


def _resolve_all(session: Session, rule_file: RuleFile) -> list[RuleSpec]:
    """Every file rule as a spec with names turned into ids; all errors raised at once."""
    names = _Names.read(session)
    errors: dict[str, list[str]] = {}
    specs: list[RuleSpec] = []
    for i, rule in enumerate(rule_file.rules):
        problems: dict[str, str] = {}
        spec = _resolve(rule, names, problems)
        if spec is not None:
            for field, messages in service.reference_errors(session, spec).items():
                problems[_FILE_FIELD.get(field, field)] = "; ".join(messages)
            specs.append(spec)
        for field, message in problems.items():
            errors.setdefault(f"rules[{i}].{field}", []).append(f"rule {rule.name!r}: {message}")
    if errors:
        raise ValidationFailed(summarize(errors), errors=errors)
    return specs


def _look_up(
    table: dict[str, int], name: str | None, field: str, what: str, problems: dict[str, str]
) -> int | None:
    if name is not None and name not in table:
        problems[field] = f"no {what} named {name!r}"
    return table.get(name) if name is not None else None


def _site_ids(sites: list[str | int], names: _Names, problems: dict[str, str]) -> list[int]:
    ids: list[int] = []
    for site in sites:
        found = [site] if isinstance(site, int) else names.sites.get(site, [])
        if len(found) == 1:
            ids.append(found[0])
        elif not found:
            problems["match.sites"] = f"no site named {site!r}"
        else:
            problems["match.sites"] = f"{len(found)} sites are named {site!r}; give the id instead"
    return ids


def _resolve(rule: FileRule, names: _Names, problems: dict[str, str]) -> RuleSpec | None:
    route, match = rule.route, rule.match
    fields: dict[str, Any] = {
        "name": rule.name,
        "description": rule.description,
        "enabled": rule.enabled,
        "matchers": match.matchers,
        "severities": match.severities,
        "ci_classes": match.ci_classes,
        "site_ids": _site_ids(match.sites, names, problems),
        "site_kinds": match.site_kinds,
        "fault_type": route.fault_type,
        "kind": route.kind,
        "assignment_group_id": _look_up(
            names.groups, route.group, "route.group", "group", problems
        ),
        "first_responsible_id": _look_up(
            names.users, route.first_responsible, "route.first_responsible", "user", problems
        ),
        "second_responsible_id": _look_up(
            names.users, route.second_responsible, "route.second_responsible", "user", problems
        ),
        "urgency": None if route.urgency == FROM_SEVERITY else Level(route.urgency),
        "min_impact": route.min_impact,
        "contingency_plan_id": _look_up(
            names.plans,
            route.contingency_plan,
            "route.contingency_plan",
            "contingency plan",
            problems,
        ),
        "auto_resolve": route.auto_resolve,
    }
    if problems:
        return None
    try:
        return RuleSpec.model_validate(fields)
    except ValidationError as exc:
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "rule"
            problems[_FILE_FIELD.get(field, field)] = err["msg"]
        return None
