"""The risk of a change, bounded below by the criticality of the CIs it touches.

A requester may rate a change riskier than its CIs suggest, never less risky: touching a
clinical-critical CI (the EMR database, PACS…) is a high-risk change whatever the form
says. With no rating given, the floor is the rating.

=================  ==========
CI criticality     risk floor
=================  ==========
clinical_critical  high
high               medium
normal, low        low
=================  ==========
"""

from __future__ import annotations

from collections.abc import Iterable

from itsm_core.changes.choices import RISK_ORDER, Risk
from itsm_core.cmdb.choices import Criticality
from itsm_core.cmdb.models import ConfigurationItem
from itsm_core.errors import ValidationFailed

CRITICALITY_RISK = {
    Criticality.CLINICAL_CRITICAL: Risk.HIGH,
    Criticality.HIGH: Risk.MEDIUM,
    Criticality.NORMAL: Risk.LOW,
    Criticality.LOW: Risk.LOW,
}
CRITICALITY_ORDER = {
    Criticality.LOW: 0,
    Criticality.NORMAL: 1,
    Criticality.HIGH: 2,
    Criticality.CLINICAL_CRITICAL: 3,
}


def higher(a: Risk, b: Risk) -> Risk:
    return a if RISK_ORDER[a] >= RISK_ORDER[b] else b


def risk_floor(cis: Iterable[ConfigurationItem]) -> Risk:
    """The least risk a change touching ``cis`` can carry."""
    floor = Risk.LOW
    for ci in cis:
        floor = higher(floor, CRITICALITY_RISK[ci.criticality])
    return floor


def assess_risk(requested: Risk | None, cis: Iterable[ConfigurationItem]) -> Risk:
    """``requested`` if it is at least the floor, the floor if nothing was requested."""
    cis = list(cis)
    floor = risk_floor(cis)
    if requested is None:
        return floor
    if RISK_ORDER[requested] < RISK_ORDER[floor]:
        worst = max(cis, key=lambda ci: CRITICALITY_ORDER[ci.criticality])
        raise ValidationFailed.on(
            "risk",
            f"CI {worst.name!r} is {worst.criticality}; a change touching it is at least "
            f"{floor} risk",
        )
    return requested
