"""Writing and verifying the audit chain.

Each entry's hash is SHA-256 over a canonical JSON of its content and the previous
entry's hash, so changing, deleting or reordering any entry breaks every hash after it;
``verify_chain`` (``fulcrum audit verify``) finds the first broken link.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from itsm_core.actor import Actor
from itsm_core.audit.models import AuditEntry
from itsm_core.jsonable import to_json
from itsm_core.timeutil import utcnow

GENESIS = "0" * 64
# Keys whose values are never written to the log, whatever the caller passes.
_SECRET_MARKERS = ("password", "secret", "token", "community", "auth_key", "priv_key")
_PG_LOCK_KEY = 0x46554C4352  # "FULCR": serialises chain extension on PostgreSQL


def _is_secret(key: str) -> bool:
    lowered = key.lower()
    return any(marker in lowered for marker in _SECRET_MARKERS)


def _digest(entry: AuditEntry) -> str:
    payload = {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "entity_type": entry.entity_type,
        "entity_id": entry.entity_id,
        "before": entry.before,
        "after": entry.after,
        "prev_hash": entry.prev_hash,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def record(
    session: Session,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: object,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry to the chain inside the caller's transaction."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    last = session.execute(
        select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
    ).first()
    entry = AuditEntry(
        id=(last.id + 1) if last else 1,
        # Microseconds survive both databases; anything finer would break the hash.
        at=utcnow(),
        actor=actor.name,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        before=to_json(before, secret_key=_is_secret) if before is not None else None,
        after=to_json(after, secret_key=_is_secret) if after is not None else None,
        prev_hash=last.hash if last else GENESIS,
    )
    entry.hash = _digest(entry)
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class ChainReport:
    """The outcome of a verification: how many entries, and the first bad one if any."""

    entries: int
    first_bad_id: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.first_bad_id is None


def verify_chain(session: Session, batch: int = 5000) -> ChainReport:
    """Recompute every hash in order and check each link to its predecessor."""
    expected_prev = GENESIS
    expected_id = 1
    count = 0
    after_id = 0
    while True:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.id > after_id).order_by(AuditEntry.id).limit(batch)
        ).all()
        if not rows:
            return ChainReport(entries=count)
        for entry in rows:
            if entry.id != expected_id:
                return ChainReport(count, expected_id, f"entry {expected_id} is missing")
            if entry.prev_hash != expected_prev:
                return ChainReport(count, entry.id, "link to the previous entry is broken")
            if _digest(entry) != entry.hash:
                return ChainReport(count, entry.id, "content does not match its hash")
            expected_prev = entry.hash
            expected_id += 1
            count += 1
        after_id = rows[-1].id
        session.expunge_all()
