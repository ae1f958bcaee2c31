"""Locks that keep concurrent deliveries from duplicating alerts or incidents.

On PostgreSQL several deliveries run at once. The pipeline takes its locks in one fixed
order, so they cannot deadlock:

1. an advisory lock per alert fingerprint of the payload (sorted): two deliveries of
   the same alert — a retry, the HA twin — take turns, and the second sees what the
   first stored;
2. an advisory lock per CI about to get an incident (sorted): the second delivery for a
   CI waits, then sees the first one's incident and joins it;
3. the incidents it will join, reopen or resolve, ``FOR NO KEY UPDATE`` in id order
   (unlike ``FOR UPDATE`` it does not wait for rows that merely reference the incident);
4. the audit chain's lock, taken inside the core when an incident is created or moves.

Anything wanted later than its place in that order (adopting downstream incidents and
their alerts) is only *tried* (``SKIP LOCKED``, ``pg_try_advisory_xact_lock``) and left
alone if busy. SQLite runs one writer at a time (``BEGIN IMMEDIATE``): no locks needed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Integer, Select, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from alerting.intake_models import AlertIncident
from itsm_core.incidents.choices import IncidentState
from itsm_core.incidents.models import Incident

# First keys of the two-key advisory locks: "AF" (alert fingerprints), "AL" (CIs).
_FINGERPRINT_SPACE = 0x4146
_CI_SPACE = 0x414C
_LOCK_ALL = text(
    "SELECT count(pg_advisory_xact_lock(:space, k)) FROM unnest(:keys) AS k"
).bindparams(bindparam("keys", type_=ARRAY(Integer)))
_TRY_ALL = text(
    "SELECT k, pg_try_advisory_xact_lock(:space, k) FROM unnest(:keys) AS k"
).bindparams(bindparam("keys", type_=ARRAY(Integer)))


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def fingerprint_key(source: str, fingerprint: str) -> int:
    """A stable signed 32-bit key for an alert (collisions only over-serialise)."""
    digest = hashlib.blake2b(f"{source}\0{fingerprint}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


def _lock_all(session: Session, space: int, keys: Iterable[int]) -> None:
    ordered = sorted(set(keys))
    if ordered and is_postgres(session):
        # unnest yields the sorted array in order and each row takes its lock as it is
        # produced: the locks are taken in key order, in one round trip.
        session.execute(_LOCK_ALL, {"space": space, "keys": ordered})


def lock_fingerprints(session: Session, keys: Iterable[tuple[str, str]]) -> None:
    """Serialise deliveries of the same alerts until the transaction ends."""
    _lock_all(session, _FINGERPRINT_SPACE, (fingerprint_key(s, f) for s, f in keys))


def try_lock_fingerprints(session: Session, keys: Iterable[tuple[str, str]]) -> set[int]:
    """Take the alerts' locks nobody else holds; the keys (``fingerprint_key``) it got.

    Never waits. On SQLite every key is "got" (one writer at a time).
    """
    wanted = sorted({fingerprint_key(s, f) for s, f in keys})
    if not wanted or not is_postgres(session):
        return set(wanted)
    rows = session.execute(_TRY_ALL, {"space": _FINGERPRINT_SPACE, "keys": wanted})
    return {key for key, got in rows if got}


def lock_cis(session: Session, ci_ids: Iterable[int]) -> None:
    """Serialise "does this CI have an incident yet?" per CI until the transaction ends."""
    _lock_all(session, _CI_SPACE, ci_ids)


class IncidentRow(NamedTuple):
    """What the pipeline needs of a locked incident (no ORM object: big incidents have
    thousands of affected CIs that loading the object would read)."""

    id: int
    state: IncidentState
    primary_ci_id: int | None
    resolved_at: datetime | None
    assignee_id: int | None
    assignment_group_id: int | None
    merged_into_id: int | None
    linked: bool  # has an AlertIncident row
    opened_by_alert: bool
    auto_resolve: bool


def _incident_statement(skip_locked: bool) -> Select[*tuple[Any, ...]]:
    return (
        select(
            Incident.id,
            Incident.state,
            Incident.primary_ci_id,
            Incident.resolved_at,
            Incident.assignee_id,
            Incident.assignment_group_id,
            Incident.merged_into_id,
            AlertIncident.incident_id,
            AlertIncident.opened_by_alert,
            AlertIncident.auto_resolve,
        )
        .outerjoin(AlertIncident, AlertIncident.incident_id == Incident.id)
        .where(Incident.id.in_(bindparam("ids", expanding=True)))
        .order_by(Incident.id)
        .with_for_update(of=Incident, key_share=True, skip_locked=skip_locked)
    )


_LOCK_INCIDENTS = {flag: _incident_statement(flag) for flag in (False, True)}


def _incident_rows(session: Session, ids: list[int], skip_locked: bool) -> dict[int, IncidentRow]:
    if not ids:
        return {}
    rows = session.execute(_LOCK_INCIDENTS[skip_locked], {"ids": ids})
    return {
        row[0]: IncidentRow(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            row[6],
            row[7] is not None,
            bool(row[8]),
            bool(row[9]),
        )
        for row in rows
    }


def lock_incidents(session: Session, incident_ids: Iterable[int]) -> dict[int, IncidentRow]:
    """The incidents, locked in id order and read fresh (another delivery may have moved them)."""
    return _incident_rows(session, sorted(set(incident_ids)), skip_locked=False)


def try_lock_incidents(session: Session, incident_ids: Iterable[int]) -> dict[int, IncidentRow]:
    """Those of the incidents nobody else holds right now, locked (others skipped)."""
    return _incident_rows(session, sorted(set(incident_ids)), skip_locked=True)
