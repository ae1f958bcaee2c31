"""What an incident takes down: the CMDB impact of its primary and affected CIs.

The graph walk belongs to the CMDB (``itsm_core.cmdb.impact``); an incident only says
which CIs failed together.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from itsm_core.cmdb.impact import DEFAULT_DEPTH, ImpactSummary, impact_of_cis
from itsm_core.incidents.models import Incident


def incident_ci_ids(incident: Incident) -> list[int]:
    """The primary CI first, then the affected ones, each once."""
    ids = [incident.primary_ci_id, *incident.affected_ci_ids]
    return list(dict.fromkeys(i for i in ids if i is not None))


def incident_impact(
    session: Session, incident: Incident, depth: int = DEFAULT_DEPTH
) -> ImpactSummary:
    """The business services and CIs down (or degraded) because this incident's CIs are."""
    return impact_of_cis(session, incident_ci_ids(incident), depth)
