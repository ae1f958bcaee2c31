"""Every package's ORM models, imported in one place so Alembic and the tests see the
whole schema (``itsm_core.models`` holds only the core's: it may not import the others).

One database, one linear Alembic history: every package's tables are migrated by the
revisions in ``itsm_core/migrations/versions`` (DDL there imports no package code).
"""

import alerting.models
import collectors.models
import itsm_core.models
from itsm_core.db import Base

__all__ = ["Base", "alerting", "collectors", "itsm_core"]
