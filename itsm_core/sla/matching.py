"""Which SLA policy applies to an incident.

A policy matches an incident when it is active, its ``priority`` is the incident's, and
each optional criterion it sets holds:

- ``ci_class``: the incident's primary CI is of that class;
- ``service_ci_id``: that business-service CI is the incident's primary CI or one of its
  affected CIs (the desk links the service the callers name).

Precedence, most specific first: service and class > service > class > priority only.
Between equally specific matches (two services both affected) the strictest wins — the
shorter time to resolve, then the shorter time to own, then the older policy — so an
incident is never held to the looser of two promises.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from itsm_core.cmdb.models import ConfigurationItem
from itsm_core.incidents.models import Incident
from itsm_core.sla.models import SlaPolicy


def specificity(policy: SlaPolicy) -> int:
    """How narrow a policy is: 3 service and class, 2 service, 1 class, 0 priority only."""
    return 2 * (policy.service_ci_id is not None) + (policy.ci_class is not None)


def _precedence(policy: SlaPolicy) -> tuple[int, int, int, int]:
    return (
        -specificity(policy),
        policy.time_to_resolve_minutes,
        policy.time_to_own_minutes,
        policy.id,
    )


def match_policy(session: Session, incident: Incident) -> SlaPolicy | None:
    """The policy in force for ``incident`` as it is now, or None when none matches."""
    candidates = session.scalars(
        select(SlaPolicy).where(SlaPolicy.active.is_(True), SlaPolicy.priority == incident.priority)
    ).all()
    if not candidates:
        return None
    primary_class = None
    if incident.primary_ci_id is not None:
        primary_class = session.scalar(
            select(ConfigurationItem.ci_class).where(ConfigurationItem.id == incident.primary_ci_id)
        )
    named_cis = set(incident.affected_ci_ids)
    if incident.primary_ci_id is not None:
        named_cis.add(incident.primary_ci_id)
    matching = [
        policy
        for policy in candidates
        if (policy.ci_class is None or policy.ci_class == primary_class)
        and (policy.service_ci_id is None or policy.service_ci_id in named_cis)
    ]
    return min(matching, key=_precedence) if matching else None
