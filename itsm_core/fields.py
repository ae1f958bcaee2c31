"""Reusable validated field types for pydantic schemas."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

MAX_DB_ID = 2**31 - 1

# A primary-key reference in a request body or query: positive and within INTEGER range
# (larger numbers would overflow SQLite and PostgreSQL before they could be "not found").
DbId = Annotated[int, Field(ge=1, le=MAX_DB_ID)]
