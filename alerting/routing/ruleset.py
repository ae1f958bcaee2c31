"""The compiled rule set: rules turned into fast predicates, cached per process.

Compiling reads every rule once and pre-compiles its regular expressions; matching an
alert is then pure Python over the alert's labels and its CI. The compiled set is
cached per engine under the generation token it was built from (see ``generation``),
so an edit anywhere is picked up by every process at its next transaction.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from alerting.canonical import CanonicalAlert, Severity
from alerting.routing import generation
from alerting.routing.choices import MatchOp
from alerting.routing.matchers import LabelMatcher
from alerting.routing.models import ContingencyPlan, RoutingRule
from itsm_core.cmdb.classes import SITE
from itsm_core.cmdb.models import ConfigurationItem
from itsm_core.incidents.choices import IncidentKind, Level


class Subject:
    """What rules look at: the alert's labels and severity, its CI, and the CI's site.

    ``alertname`` falls back to the alert's name for sources whose labels lack it. The
    site's kind is read only when a rule asks for it (and then once).
    """

    __slots__ = ("_session", "_site_kind", "ci_class", "labels", "severity", "site_id")

    def __init__(
        self, session: Session, alert: CanonicalAlert, ci: ConfigurationItem | None
    ) -> None:
        labels: Mapping[str, str] = alert.labels
        if "alertname" not in labels:
            labels = {**labels, "alertname": alert.name}
        self.labels = labels
        self.severity: Severity = alert.severity
        self.ci_class = ci.ci_class if ci is not None else None
        # A site's own alerts belong to that site.
        self.site_id = (ci.id if ci.ci_class == SITE else ci.site_id) if ci is not None else None
        self._session = session
        self._site_kind: str | bool | None = False  # False: not looked up yet

    @property
    def site_kind(self) -> str | None:
        if self._site_kind is False:
            site = self._session.get(ConfigurationItem, self.site_id) if self.site_id else None
            kind = site.attributes.get("kind") if site is not None else None
            self._site_kind = kind if isinstance(kind, str) else None
        return self._site_kind if isinstance(self._site_kind, str) else None


@dataclass(frozen=True, slots=True)
class Check:
    """One condition of a rule; ``explain`` says why it failed for a subject (dry-run)."""

    test: Callable[[Subject], bool]
    explain: Callable[[Subject], str]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a matching rule decides (impact is added from the CMDB at routing time)."""

    fault_type: str | None
    kind: IncidentKind
    assignment_group_id: int | None
    first_responsible_id: int | None
    second_responsible_id: int | None
    urgency: Level | None
    min_impact: Level | None
    contingency_plan_id: int | None
    contingency_plan: str | None
    auto_resolve: bool


@dataclass(frozen=True, slots=True)
class CompiledRule:
    id: int
    name: str
    position: int
    checks: tuple[Check, ...]
    outcome: Outcome

    def matches(self, subject: Subject) -> bool:
        return all(check.test(subject) for check in self.checks)

    def why_not(self, subject: Subject) -> str | None:
        """The first condition that fails (None when the rule matches)."""
        return next((c.explain(subject) for c in self.checks if not c.test(subject)), None)


@dataclass(frozen=True)
class RuleSet:
    """Every rule in matching order, compiled; ``token`` is the generation it reflects."""

    token: str | None
    rules: tuple[CompiledRule, ...] = field(default_factory=tuple)

    def first_match(self, subject: Subject) -> CompiledRule | None:
        return next((rule for rule in self.rules if rule.matches(subject)), None)


def _label_check(matcher: LabelMatcher) -> Check:
    test = matcher.predicate()
    label = matcher.label
    return Check(
        lambda subject: test(subject.labels),
        lambda subject: f"{matcher} fails: {label}={subject.labels.get(label, '')!r}",
    )


def _shown(value: Any) -> str:
    return "(none)" if value is None else str(value)


def _in(values: Sequence[Any], what: str, get: Callable[[Subject], Any]) -> Check:
    allowed = frozenset(values)
    shown = ", ".join(sorted(map(str, allowed)))
    return Check(
        lambda subject: get(subject) in allowed,
        lambda subject: f"{what} {_shown(get(subject))} not in [{shown}]",
    )


def compile_rule(rule: RoutingRule, plan_name: str | None) -> CompiledRule:
    """One stored rule as predicates, cheapest first (the site's kind needs a lookup)."""
    checks: list[Check] = []
    if not rule.enabled:
        checks.append(Check(lambda _s: False, lambda _s: "the rule is disabled"))
    if rule.severities:
        checks.append(_in(rule.severities, "severity", lambda s: s.severity))
    checks.extend(
        _label_check(LabelMatcher(m["label"], MatchOp(m["op"]), m["value"])) for m in rule.matchers
    )
    if rule.ci_classes:
        checks.append(_in(rule.ci_classes, "CI class", lambda s: s.ci_class))
    if rule.site_ids:
        checks.append(_in(rule.site_ids, "site", lambda s: s.site_id))
    if rule.site_kinds:
        checks.append(_in(rule.site_kinds, "site kind", lambda s: s.site_kind))
    outcome = Outcome(
        fault_type=rule.fault_type,
        kind=rule.kind,
        assignment_group_id=rule.assignment_group_id,
        first_responsible_id=rule.first_responsible_id,
        second_responsible_id=rule.second_responsible_id,
        urgency=rule.urgency,
        min_impact=rule.min_impact,
        contingency_plan_id=rule.contingency_plan_id,
        contingency_plan=plan_name,
        auto_resolve=rule.auto_resolve,
    )
    return CompiledRule(rule.id, rule.name, rule.position, tuple(checks), outcome)


def load(session: Session, token: str | None) -> RuleSet:
    """Read and compile every rule (one query)."""
    rows = session.execute(
        select(RoutingRule, ContingencyPlan.name)
        .outerjoin(ContingencyPlan, RoutingRule.contingency_plan_id == ContingencyPlan.id)
        .order_by(RoutingRule.position, RoutingRule.id)
    ).all()
    return RuleSet(token, tuple(compile_rule(rule, plan) for rule, plan in rows))


_CACHE: weakref.WeakKeyDictionary[Engine, RuleSet] = weakref.WeakKeyDictionary()


def current(session: Session) -> RuleSet:
    """The compiled rules as of this transaction, rebuilt only when the token moved."""
    token = generation.current(session)
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    cached = _CACHE.get(engine)
    if cached is not None and cached.token == token:
        return cached
    fresh = load(session, token)
    _CACHE[engine] = fresh
    return fresh
