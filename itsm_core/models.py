"""Every ORM model, imported in one place so Alembic and the tests see the whole schema."""

from itsm_core.audit.models import AuditEntry
from itsm_core.cmdb.models import CIHistory, CIRelationship, ConfigurationItem
from itsm_core.db import Base
from itsm_core.people.models import ApiToken, Group, GroupMember, User, UserRole

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Base",
    "CIHistory",
    "CIRelationship",
    "ConfigurationItem",
    "Group",
    "GroupMember",
    "User",
    "UserRole",
]
