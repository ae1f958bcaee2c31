"""Row and advisory locks that keep concurrent deliveries from duplicating incidents.

On PostgreSQL two deliveries may run at once. The pipeline takes its locks in one fixed
order, so they cannot deadlock: (1) the payload's alert rows, in id order (``dedup``);
(2) an advisory lock per CI about to get an incident, in CI id order — the second
delivery for a CI waits, then sees the first one's incident and joins it; (3) the
incidents it will join, reopen or resolve, in id order, ``FOR NO KEY UPDATE`` (which,
unlike ``FOR UPDATE``, does not wait for rows that merely reference the incident); (4) the audit chain's lock,
taken inside the core when an incident is created or moves. Anything locked later than
its place in that order (adopting downstream incidents) is taken with ``SKIP LOCKED``.

SQLite runs one writer at a time (``BEGIN IMMEDIATE``): there these are no-ops.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Integer, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from itsm_core.incidents.models import Incident

# The first key of the two-key advisory locks: "AL" (alerting), CI id as the second.
_CI_LOCK_SPACE = 0x414C
_LOCK_CIS = text(
    "SELECT count(pg_advisory_xact_lock(:space, ci)) FROM unnest(:ids) AS ci"
).bindparams(bindparam("ids", type_=ARRAY(Integer)))


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def lock_cis(session: Session, ci_ids: Iterable[int]) -> None:
    """Serialise "does this CI have an incident yet?" per CI until the transaction ends."""
    ids = sorted(set(ci_ids))
    if not ids or not is_postgres(session):
        return
    # unnest yields the sorted array in order and each row takes its lock as it is
    # produced, so the locks are taken in id order in one round trip.
    session.execute(_LOCK_CIS, {"space": _CI_LOCK_SPACE, "ids": ids})


def lock_incidents(session: Session, incident_ids: Iterable[int]) -> dict[int, Incident]:
    """The incidents, locked in id order and read fresh (another delivery may have moved them)."""
    ids = sorted(set(incident_ids))
    if not ids:
        return {}
    stmt = (
        select(Incident)
        .where(Incident.id.in_(ids))
        .order_by(Incident.id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    return {incident.id: incident for incident in session.scalars(stmt)}


def try_lock_incidents(session: Session, incident_ids: Iterable[int]) -> dict[int, Incident]:
    """Those of the incidents nobody else holds right now, locked (others skipped)."""
    ids = sorted(set(incident_ids))
    if not ids:
        return {}
    stmt = (
        select(Incident)
        .where(Incident.id.in_(ids))
        .order_by(Incident.id)
        .with_for_update(skip_locked=True, key_share=True)
        .execution_options(populate_existing=True)
    )
    return {incident.id: incident for incident in session.scalars(stmt)}
