"""Cursor pagination: stable under inserts, no OFFSET scans.

Lists are ordered newest first by id; the cursor is an opaque token naming the last id
seen. Clients pass ``cursor`` back to get the next page until ``next_cursor`` is null.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from itsm_core.errors import ValidationFailed
from itsm_core.fields import MAX_DB_ID

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list and the cursor of the next one (null on the last page)."""

    items: list[T]
    next_cursor: str | None = None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"id": last_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
        last_id = value["id"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise ValidationFailed.on("cursor", "not a cursor from this API") from exc
    if not isinstance(last_id, int) or isinstance(last_id, bool) or not 0 < last_id <= MAX_DB_ID:
        raise ValidationFailed.on("cursor", "not a cursor from this API")
    return last_id


CursorQuery = Annotated[str | None, Query(max_length=200, description="From `next_cursor`.")]
LimitQuery = Annotated[int, Query(ge=1, le=200, description="Rows per page.")]


def paginate(
    session: Session,
    stmt: Select[Any],
    id_column: InstrumentedAttribute[int],
    cursor: str | None,
    limit: int,
) -> tuple[list[Any], str | None]:
    """Run ``stmt`` for one page (newest first); return the rows and the next cursor."""
    if cursor is not None:
        stmt = stmt.where(id_column < decode_cursor(cursor))
    rows = list(session.scalars(stmt.order_by(id_column.desc()).limit(limit + 1)))
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor(rows[-1].id)
    return rows, None
