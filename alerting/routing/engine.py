"""Route an alert: match the stored rules, take impact from the CMDB.

Placeholder until the routing work lands: no rules, urgency from severity, impact from
the CMDB. The signature of :func:`route` is the contract the pipeline relies on.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from alerting.canonical import CanonicalAlert, Severity
from alerting.routing.decision import RoutingDecision
from itsm_core.cmdb.impact import impact_of_cis
from itsm_core.cmdb.models import ConfigurationItem
from itsm_core.incidents.choices import IncidentKind, Level

_URGENCY = {
    Severity.CRITICAL: Level.HIGH,
    Severity.MAJOR: Level.HIGH,
    Severity.WARNING: Level.MEDIUM,
    Severity.INFO: Level.LOW,
}


def route(session: Session, alert: CanonicalAlert, ci: ConfigurationItem | None) -> RoutingDecision:
    impact = Level.LOW
    if ci is not None:
        summary = impact_of_cis(session, [ci.id])
        if summary.clinical_critical:
            impact = Level.HIGH
        elif summary.business_services:
            impact = Level.MEDIUM
    return RoutingDecision(
        rule_id=None,
        fault_type=None,
        kind=IncidentKind.INCIDENT,
        impact=impact,
        urgency=_URGENCY[alert.severity],
    )
