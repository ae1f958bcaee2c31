"""The store's tables as Core ``Table`` objects, and insert-or-ignore per dialect.

Bulk writes go through Core (``executemany``) rather than the ORM unit of work: no
identity map, no per-row objects, one statement per batch.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Result, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from collectors.store.models import Rollup, Series, StoredSample

SERIES = cast(Table, Series.__table__)
SAMPLES = cast(Table, StoredSample.__table__)
ROLLUPS = cast(Table, Rollup.__table__)


def dialect_insert(session: Session, table: Table) -> postgresql.Insert | sqlite.Insert:
    """``INSERT`` with ``ON CONFLICT`` support on the session's database."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def rowcount(result: Result[Any]) -> int:
    """Rows a DML statement touched (0 when the driver cannot tell)."""
    assert isinstance(result, CursorResult)
    return max(result.rowcount, 0)
