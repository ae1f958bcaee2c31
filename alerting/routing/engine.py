"""Route an alert: the first matching rule decides; impact comes from the CMDB.

The default when no rule matches (``rule_id`` None): an incident for the NOC queue (no
group, no responsible people), urgency from the alert's severity, impact from the CMDB,
no contingency plan, and resolution left to the NOC. The signature of :func:`route` is
the contract the alert pipeline relies on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from alerting.canonical import AlertSourceKind, AlertStatus, CanonicalAlert, Severity
from alerting.routing import ruleset
from alerting.routing.decision import RoutingDecision
from alerting.routing.ruleset import CompiledRule, Subject
from itsm_core.cmdb.choices import Criticality
from itsm_core.cmdb.impact import impact_of_cis
from itsm_core.cmdb.models import ConfigurationItem
from itsm_core.errors import ValidationFailed
from itsm_core.incidents.choices import IncidentKind, Level
from itsm_core.timeutil import utcnow

URGENCY_FROM_SEVERITY = {
    Severity.CRITICAL: Level.HIGH,
    Severity.MAJOR: Level.HIGH,
    Severity.WARNING: Level.MEDIUM,
    Severity.INFO: Level.LOW,
}
_RANK = {Level.LOW: 0, Level.MEDIUM: 1, Level.HIGH: 2}


def cmdb_impact(session: Session, ci: ConfigurationItem | None) -> Level:
    """High if a clinical-critical CI is taken down (the CI itself or a business service
    downstream); medium if any business service is down or degraded or a CI of high
    criticality is taken down; low otherwise, and for alerts bound to no CI."""
    if ci is None:
        return Level.LOW
    summary = impact_of_cis(session, [ci.id])
    if summary.clinical_critical:
        return Level.HIGH
    if summary.business_services or summary.degraded_business_services:
        return Level.MEDIUM
    highest = summary.highest_criticality
    if highest is not None and highest.rank >= Criticality.HIGH.rank:
        return Level.MEDIUM
    return Level.LOW


def _at_least(level: Level, floor: Level | None) -> Level:
    return floor if floor is not None and _RANK[floor] > _RANK[level] else level


def decide(
    session: Session, alert: CanonicalAlert, ci: ConfigurationItem | None, rule: CompiledRule | None
) -> RoutingDecision:
    """The decision for ``alert`` given the rule that matched (or None: the default)."""
    impact = cmdb_impact(session, ci)
    severity_urgency = URGENCY_FROM_SEVERITY[alert.severity]
    if rule is None:
        return RoutingDecision(
            rule_id=None,
            fault_type=None,
            kind=IncidentKind.INCIDENT,
            impact=impact,
            urgency=severity_urgency,
        )
    out = rule.outcome
    return RoutingDecision(
        rule_id=rule.id,
        fault_type=out.fault_type,
        kind=out.kind,
        impact=_at_least(impact, out.min_impact),
        urgency=out.urgency or severity_urgency,
        assignment_group_id=out.assignment_group_id,
        first_responsible_id=out.first_responsible_id,
        second_responsible_id=out.second_responsible_id,
        contingency_plan=out.contingency_plan,
        auto_resolve=out.auto_resolve,
        rule_name=rule.name,
        contingency_plan_id=out.contingency_plan_id,
    )


def route(session: Session, alert: CanonicalAlert, ci: ConfigurationItem | None) -> RoutingDecision:
    """Route ``alert`` (bound to ``ci``, if any) with the rules in force."""
    rule = ruleset.current(session).first_match(Subject(session, alert, ci))
    return decide(session, alert, ci, rule)


@dataclass(frozen=True)
class TraceStep:
    """One rule tried during a dry-run, and why it did not match (None: it did)."""

    rule_id: int
    name: str
    position: int
    reason: str | None


@dataclass(frozen=True)
class DryRun:
    """What routing would do with an alert, and the rules it tried on the way."""

    decision: RoutingDecision
    trace: list[TraceStep]


def sample_alert(
    labels: Mapping[str, str], severity: Severity = Severity.WARNING, name: str = ""
) -> CanonicalAlert:
    """A firing alert with these labels, as the dry-run routes it."""
    return CanonicalAlert(
        source=AlertSourceKind.GENERIC,
        fingerprint="dry-run",
        status=AlertStatus.FIRING,
        severity=severity,
        name=name or labels.get("alertname", ""),
        starts_at=utcnow(),
        labels=dict(labels),
    )


def dry_run(session: Session, alert: CanonicalAlert, ci_id: int | None = None) -> DryRun:
    """Route ``alert`` as if bound to CI ``ci_id``, recording each rule tried."""
    ci = None
    if ci_id is not None:
        ci = session.get(ConfigurationItem, ci_id)
        if ci is None:
            raise ValidationFailed.on("ci_id", f"no CI {ci_id}")
    subject = Subject(session, alert, ci)
    trace: list[TraceStep] = []
    matched = None
    for rule in ruleset.current(session).rules:
        reason = rule.why_not(subject)
        trace.append(TraceStep(rule.id, rule.name, rule.position, reason))
        if reason is None:
            matched = rule
            break
    return DryRun(decide(session, alert, ci, matched), trace)
