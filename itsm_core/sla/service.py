"""The SLA layer's public entry points, in one place for callers.

``from itsm_core.sla import service as sla`` then:

- calendars: ``create_calendar``, ``update_calendar``, ``load_official_notice``,
  ``get_calendar``, ``find_calendar``, ``day_info``, ``days`` (``calendars``);
- policies: ``create_policy``, ``update_policy``, ``get_policy`` (``policies``) and
  ``match_policy`` (``matching``: most specific active policy wins);
- incidents: ``sync_incident`` after any change to an incident (``records``),
  ``incident_sla`` to read its clocks (``views``);
- the background job: ``evaluate`` (``evaluation``).

Domain functions only add and flush; the caller owns the transaction.
"""

from __future__ import annotations

from itsm_core.sla.calendars import (
    create_calendar,
    day_info,
    days,
    find_calendar,
    get_calendar,
    load_official_notice,
    update_calendar,
)
from itsm_core.sla.evaluation import Evaluation, evaluate
from itsm_core.sla.matching import match_policy
from itsm_core.sla.policies import create_policy, get_policy, update_policy
from itsm_core.sla.records import sync_incident
from itsm_core.sla.views import IncidentSlaView, RecordView, incident_sla

__all__ = [
    "Evaluation",
    "IncidentSlaView",
    "RecordView",
    "create_calendar",
    "create_policy",
    "day_info",
    "days",
    "evaluate",
    "find_calendar",
    "get_calendar",
    "get_policy",
    "incident_sla",
    "load_official_notice",
    "match_policy",
    "sync_incident",
    "update_calendar",
    "update_policy",
]
