"""What routing decides for an alert that opens an incident."""

from __future__ import annotations

from dataclasses import dataclass

from itsm_core.incidents.choices import IncidentKind, Level


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    """The incident fields routing fills in; ``rule_id`` is None when no rule matched.

    ``auto_resolve``: when all of the incident's alerts resolve, resolve it (True) or
    leave it for the NOC to confirm (False). ``contingency_plan`` is the plan's name
    (``contingency_plan_id`` its id, for fetching the steps).
    """

    rule_id: int | None
    fault_type: str | None
    kind: IncidentKind
    impact: Level
    urgency: Level
    assignment_group_id: int | None = None
    first_responsible_id: int | None = None
    second_responsible_id: int | None = None
    contingency_plan: str | None = None
    auto_resolve: bool = False
    rule_name: str | None = None
    contingency_plan_id: int | None = None
