"""Every ORM model, imported in one place so Alembic and the tests see the whole schema."""

from itsm_core.audit.models import AuditEntry
from itsm_core.changes.models import (
    Approval,
    ApprovalRequirement,
    Change,
    ChangeCI,
    ChangeEvent,
    ChangeIncident,
    ChangeTemplate,
)
from itsm_core.cmdb.models import CIHistory, CIRelationship, ConfigurationItem
from itsm_core.db import Base
from itsm_core.incidents.models import Incident, IncidentCI, PendingPeriod, TimelineEntry
from itsm_core.people.models import ApiToken, Group, GroupMember, User, UserRole
from itsm_core.sla.models import IncidentSla, SlaCalendar, SlaEvent, SlaPolicy

__all__ = [
    "ApiToken",
    "Approval",
    "ApprovalRequirement",
    "AuditEntry",
    "Base",
    "CIHistory",
    "CIRelationship",
    "Change",
    "ChangeCI",
    "ChangeEvent",
    "ChangeIncident",
    "ChangeTemplate",
    "ConfigurationItem",
    "Group",
    "GroupMember",
    "Incident",
    "IncidentCI",
    "IncidentSla",
    "PendingPeriod",
    "SlaCalendar",
    "SlaEvent",
    "SlaPolicy",
    "TimelineEntry",
    "User",
    "UserRole",
]
