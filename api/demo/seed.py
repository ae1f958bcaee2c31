"""Seeding the whole demo: the estate, then its service-desk data."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.demo.estate import seed_estate
from api.demo.tickets import seed_incidents, seed_sla
from itsm_core.cmdb.models import CIRelationship, ConfigurationItem
from itsm_core.incidents.models import Incident
from itsm_core.people.roles import Role

# Whose tokens `fulcrum demo` prints: one person per role a newcomer wants to try.
DEMO_TOKENS: list[tuple[str, Role]] = [
    ("admin", Role.ADMIN),
    ("desk.li", Role.SERVICE_DESK),
    ("net.wang", Role.ON_CALL),
    ("sys.chen", Role.ENGINEER),
    ("cab.huang", Role.CHANGE_APPROVER),
    ("cab.xu", Role.CHANGE_APPROVER),
    ("head.ma", Role.MANAGER),
    ("viewer", Role.VIEWER),
]


def seed_demo(session: Session) -> str:
    """Seed everything (idempotent) and describe what is there."""
    estate = seed_estate(session)
    seed_sla(session)
    seed_incidents(session, estate)
    cis = session.scalar(select(func.count()).select_from(ConfigurationItem))
    edges = session.scalar(select(func.count()).select_from(CIRelationship))
    incidents = session.scalar(select(func.count()).select_from(Incident))
    return (
        f"Demo estate: {cis} configuration items, {edges} relationships, "
        f"{incidents} incidents, {len(estate.users)} people in {len(estate.groups)} groups."
    )
