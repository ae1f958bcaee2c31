"""The store's tables as Core ``Table`` objects, and insert-or-ignore per dialect.

Bulk writes go through Core (``executemany``) rather than the ORM unit of work: no
identity map, no per-row objects, one statement per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Result, Table, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstrumentedAttribute, Session

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


def one_of(
    session: Session,
    column: ColumnElement[Any] | InstrumentedAttribute[Any],
    values: Sequence[Any],
) -> ColumnElement[bool]:
    """``column IN (values)``, written so PostgreSQL keeps it fast on a cached plan.

    psycopg prepares a statement run five times, and PostgreSQL may plan it once for any
    parameters — for instance while ``series`` was still empty. An ``IN`` list (or
    ``= ANY(:array)``) on such a plan compares every row with every value: 0.8 s per
    1,000 hashes against 20,000 series, until the table is next analysed. ``IN (SELECT
    unnest(:array))`` is a semi-join, hashed or index-driven whatever the statistics
    (a few ms). SQLite gets a plain ``IN``.
    """
    if session.get_bind().dialect.name == "postgresql":
        array = bindparam(None, list(values), type_=postgresql.ARRAY(column.type))
        return column.in_(select(func.unnest(array)).scalar_subquery())
    return column.in_(values)
