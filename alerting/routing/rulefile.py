"""The routing rule file (YAML): its format, parsing, and the database exported as one.

::

    version: 1
    plans:                                   # contingency plans (预案), upserted by name
      - name: township-link-down
        title: 乡镇卫生院链路中断预案
        steps: |
          1. …
    rules:                                   # in matching order; upserted by name
      - name: township-router-down
        match:                               # every condition must hold; omitted = any
          matchers: ['alertname=~"DeviceDown|LinkDown"', 'env!="test"']
          severities: [critical, major]
          ci_classes: [network_device]
          sites: [城关镇卫生院]                # site CI names (or ids)
          site_kinds: [township_hospital]
        route:
          fault_type: network.township_link
          group: network                     # group name
          first_responsible: net.wang        # usernames
          second_responsible: net.zhao
          urgency: high                      # or from_severity (the default)
          min_impact: medium
          contingency_plan: township-link-down
          auto_resolve: true

:func:`parse` refuses a malformed file with every error keyed by its place in the file
(``rules[3].route.urgency``, indexes counted from 0) and the rule's name in the message;
``loader`` resolves the names and writes it; :func:`export` and :func:`dump` write the
database back in the same format.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerting.routing import plans, service
from alerting.routing.choices import FROM_SEVERITY, MatchOp
from alerting.routing.matchers import LabelMatcher, MatcherError, from_any
from alerting.routing.schemas import (
    MAX_RULES,
    CiClasses,
    FaultType,
    MatcherIn,
    Name,
    PlanSpec,
    Severities,
    SiteKinds,
    Text,
)
from itsm_core.cmdb.classes import SITE
from itsm_core.cmdb.models import ConfigurationItem
from itsm_core.errors import ValidationFailed
from itsm_core.incidents.choices import IncidentKind, Level
from itsm_core.people.models import Group, User


def _matcher(item: object) -> object:
    if isinstance(item, str | Mapping):
        try:
            return from_any(item).as_dict()
        except MatcherError as exc:
            raise ValueError(str(exc)) from exc
    return item


def _site_ref(value: object) -> str | int:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("a site is named by its name or its CI id")
    if isinstance(value, str) and not 0 < len(value) <= 200:
        raise ValueError("a site name has 1 to 200 characters")
    return value


# A site CI's name or id (one plain check, so an error is keyed by its place alone).
SiteRef = Annotated[str | int, PlainValidator(_site_ref)]


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FileMatch(_File):
    matchers: Annotated[
        list[Annotated[MatcherIn, BeforeValidator(_matcher)]], Field(max_length=50)
    ] = []
    severities: Severities = []
    ci_classes: CiClasses = []
    sites: Annotated[list[SiteRef], Field(max_length=200)] = []
    site_kinds: SiteKinds = []


class FileRoute(_File):
    fault_type: FaultType | None = None
    kind: IncidentKind = IncidentKind.INCIDENT
    group: Annotated[str, Field(max_length=100)] | None = None
    first_responsible: Annotated[str, Field(max_length=64)] | None = None
    second_responsible: Annotated[str, Field(max_length=64)] | None = None
    urgency: Literal["high", "medium", "low", "from_severity"] = "from_severity"
    min_impact: Level | None = None
    contingency_plan: Annotated[str, Field(max_length=100)] | None = None
    auto_resolve: bool = False


class FileRule(_File):
    name: Name
    description: Text = ""
    enabled: bool = True
    match: FileMatch = FileMatch()
    route: FileRoute = FileRoute()


class RuleFile(_File):
    version: Literal[1] = 1
    plans: Annotated[list[PlanSpec], Field(max_length=500)] = []
    rules: Annotated[list[FileRule], Field(max_length=MAX_RULES)] = []


def parse(text: str) -> RuleFile:
    """The YAML text as a rule file, or ``ValidationFailed`` with every error keyed."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationFailed.on("file", f"not valid YAML: {exc}") from exc
    if document is None:
        document = {}
    try:
        parsed = RuleFile.model_validate(document)
    except ValidationError as exc:
        errors: dict[str, list[str]] = {}
        rules = document.get("rules") if isinstance(document, dict) else None
        for err in exc.errors():
            key, message = _path(err["loc"]), err["msg"]
            name = _rule_name(rules, err["loc"])
            errors.setdefault(key, []).append(f"rule {name!r}: {message}" if name else message)
        raise ValidationFailed(summarize(errors), errors=errors) from exc
    _refuse_duplicates(parsed)
    return parsed


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "file"


def _rule_name(rules: object, loc: tuple[int | str, ...]) -> str | None:
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int) and isinstance(rules, list):
        item = rules[loc[1]] if loc[1] < len(rules) else None
        name = item.get("name") if isinstance(item, dict) else None
        if isinstance(name, str):
            return name
    return None


def summarize(errors: dict[str, list[str]]) -> str:
    return "; ".join(f"{key}: {', '.join(msgs)}" for key, msgs in errors.items())


def _refuse_duplicates(parsed: RuleFile) -> None:
    errors: dict[str, list[str]] = {}
    for kind, item_names in (
        ("rules", [r.name for r in parsed.rules]),
        ("plans", [p.name for p in parsed.plans]),
    ):
        seen: set[str] = set()
        for i, name in enumerate(item_names):
            if name in seen:
                errors[f"{kind}[{i}].name"] = [f"{name!r} appears more than once"]
            seen.add(name)
    if errors:
        raise ValidationFailed(summarize(errors), errors=errors)


def export(session: Session) -> dict[str, Any]:
    """Every plan and rule as a rule-file document (names, not ids; defaults omitted)."""
    groups = {g.id: g.name for g in session.scalars(select(Group))}
    users = {u.id: u.username for u in session.scalars(select(User))}
    all_plans = plans.list_plans(session)
    plan_names = {p.id: p.name for p in all_plans}
    site_rows = session.execute(
        select(ConfigurationItem.id, ConfigurationItem.name).where(
            ConfigurationItem.ci_class == SITE
        )
    ).all()
    site_names: dict[int, str] = {}
    name_count: dict[str, int] = {}
    for site_id, name in site_rows:
        site_names[site_id] = name
        name_count[name] = name_count.get(name, 0) + 1
    rules = []
    for rule in service.list_rules(session):
        match: dict[str, Any] = {
            "matchers": [
                str(LabelMatcher(m["label"], MatchOp(m["op"]), m["value"])) for m in rule.matchers
            ],
            "severities": list(rule.severities),
            "ci_classes": list(rule.ci_classes),
            "sites": [
                site_names[s] if name_count.get(site_names.get(s, ""), 0) == 1 else s
                for s in rule.site_ids
            ],
            "site_kinds": list(rule.site_kinds),
        }
        route: dict[str, Any] = {
            "fault_type": rule.fault_type,
            "kind": rule.kind.value,
            "group": groups.get(rule.assignment_group_id or 0),
            "first_responsible": users.get(rule.first_responsible_id or 0),
            "second_responsible": users.get(rule.second_responsible_id or 0),
            "urgency": rule.urgency.value if rule.urgency else FROM_SEVERITY,
            "min_impact": rule.min_impact.value if rule.min_impact else None,
            "contingency_plan": plan_names.get(rule.contingency_plan_id or 0),
            "auto_resolve": rule.auto_resolve,
        }
        item: dict[str, Any] = {"name": rule.name}
        if rule.description:
            item["description"] = rule.description
        if not rule.enabled:
            item["enabled"] = False
        item["match"] = {k: v for k, v in match.items() if v}
        item["route"] = {k: v for k, v in route.items() if v is not None}
        rules.append(item)
    return {
        "version": 1,
        "plans": [{"name": p.name, "title": p.title, "steps": p.steps} for p in all_plans],
        "rules": rules,
    }


class _Dumper(yaml.SafeDumper):
    """Multi-line text (plan steps) as ``|`` blocks, readable in the exported file."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def dump(document: dict[str, Any]) -> str:
    return yaml.dump(document, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)
