"""The routing generation: a token that changes whenever rules or plans change.

Writers call :func:`bump` in their transaction; readers call :func:`current`, which
reads the token at most once per transaction (memoised on the session), so routing a
batch of alerts costs one primary-key read, not one per alert.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from alerting.routing.models import RoutingGeneration
from itsm_core.timeutil import utcnow

_ROW = 1
_MEMO = "fulcrum.routing.generation"


def current(session: Session) -> str | None:
    """The token in force for this transaction (None before the first write ever)."""
    transaction = session.get_transaction()
    memo = session.info.get(_MEMO)
    if transaction is not None and memo is not None and memo[0] is transaction:
        token: str | None = memo[1]
        return token
    token = session.scalar(select(RoutingGeneration.token).where(RoutingGeneration.id == _ROW))
    session.info[_MEMO] = (session.get_transaction(), token)
    return token


def bump(session: Session) -> str:
    """Give the rule set a new token (an upsert of the single row) and return it."""
    token = uuid.uuid4().hex
    now = utcnow()
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(RoutingGeneration).values(id=_ROW, token=token, changed_at=now)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[RoutingGeneration.id], set_={"token": token, "changed_at": now}
        )
    )
    session.info[_MEMO] = (session.get_transaction(), token)
    return token
