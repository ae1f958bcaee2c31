"""De-duplication: which incoming alerts are new, repeats, re-fires, resolutions or stale.

One query reads every known alert of the payload by fingerprint (on PostgreSQL after
taking the payload's fingerprint locks, so a concurrent delivery of the same alert waits
and then sees what this one stored); the verdict per alert compares the stored state
with the incoming one:

==================  ================  =============================================
stored              incoming          verdict
==================  ================  =============================================
(none)              firing/resolved   NEW
firing              firing            REPEAT (only last seen / count bumped)
firing              resolved          RESOLVE, or STALE if it resolves an older
                                      occurrence (its ``startsAt`` is earlier)
resolved            firing            REFIRE (a new occurrence) if it started later,
                                      else STALE (a late retry of the old firing)
resolved            resolved          REPEAT
==================  ================  =============================================

A repeat of a firing alert that a maintenance window or change suppressed is RECHECK:
the window may have ended, so suppression is evaluated again. Repeats and stale
deliveries are settled here with one UPDATE; the rest go on through the pipeline.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from alerting.canonical import AlertSourceKind, AlertStatus, CanonicalAlert
from alerting.intake_models import Alert
from alerting.locks import lock_fingerprints

Key = tuple[str, str]


class Verdict(StrEnum):
    NEW = "new"
    REPEAT = "repeat"
    REFIRE = "refire"
    RESOLVE = "resolve"
    RECHECK = "recheck"
    STALE = "stale"


# What the verdict needs of a stored alert (read as plain rows: no ORM objects for the
# repeats that make up most deliveries).
_STATE = (
    Alert.id,
    Alert.source,
    Alert.fingerprint,
    Alert.status,
    Alert.starts_at,
    Alert.incident_id,
    Alert.suppressed_reason,
)


# Built once: constructing a statement costs more than running this one.
_LOAD_STORED = select(*_STATE).where(
    Alert.source == bindparam("source"),
    Alert.fingerprint.in_(bindparam("fingerprints", expanding=True)),
)


_SEEN = (
    update(Alert)
    .where(Alert.id.in_(bindparam("ids", expanding=True)))
    .values(last_seen_at=bindparam("now"), duplicate_count=Alert.duplicate_count + 1)
)


@dataclass(frozen=True, slots=True)
class Stored:
    id: int
    status: AlertStatus
    starts_at: datetime
    incident_id: int | None
    suppressed_reason: str | None


@dataclass
class Staged:
    """The payload sorted by verdict (each incoming alert once)."""

    new: list[CanonicalAlert] = field(default_factory=list)
    # (incoming, stored id) for alerts that go on through the pipeline.
    changed: list[tuple[CanonicalAlert, int, Verdict]] = field(default_factory=list)
    repeats: int = 0
    stale: int = 0


def unique(alerts: Iterable[CanonicalAlert]) -> list[CanonicalAlert]:
    """Each (source, fingerprint) once; a later copy in the payload wins."""
    by_key: dict[Key, CanonicalAlert] = {}
    for alert in alerts:
        by_key.pop((alert.source, alert.fingerprint), None)
        by_key[(alert.source, alert.fingerprint)] = alert
    return list(by_key.values())


def load_stored(session: Session, keys: Iterable[Key]) -> dict[Key, Stored]:
    """The stored state of these alerts (the caller holds their fingerprint locks)."""
    by_source: dict[str, list[str]] = defaultdict(list)
    for source, fingerprint in keys:
        by_source[source].append(fingerprint)
    found: dict[Key, Stored] = {}
    for source, fingerprints in by_source.items():
        params = {"source": AlertSourceKind(source), "fingerprints": fingerprints}
        for row in session.execute(_LOAD_STORED, params):
            found[(row.source, row.fingerprint)] = Stored(
                row.id, row.status, row.starts_at, row.incident_id, row.suppressed_reason
            )
    return found


def verdict(incoming: CanonicalAlert, stored: Stored) -> Verdict:
    """What ``incoming`` means for an alert stored as ``stored`` (see the module table)."""
    if stored.status == AlertStatus.FIRING:
        if incoming.status == AlertStatus.FIRING:
            if stored.suppressed_reason is not None and stored.incident_id is None:
                return Verdict.RECHECK
            return Verdict.REPEAT
        return Verdict.STALE if incoming.starts_at < stored.starts_at else Verdict.RESOLVE
    if incoming.status == AlertStatus.RESOLVED:
        return Verdict.REPEAT
    return Verdict.REFIRE if incoming.starts_at > stored.starts_at else Verdict.STALE


def stage(session: Session, alerts: Sequence[CanonicalAlert], now: datetime) -> Staged:
    """Sort ``alerts`` by verdict and settle the repeats and stale ones (one UPDATE)."""
    keys = [(a.source, a.fingerprint) for a in alerts]
    lock_fingerprints(session, keys)
    stored = load_stored(session, keys)
    staged = Staged()
    bump: list[int] = []
    for alert in alerts:
        known = stored.get((alert.source, alert.fingerprint))
        if known is None:
            staged.new.append(alert)
            continue
        found = verdict(alert, known)
        if found in (Verdict.REPEAT, Verdict.STALE, Verdict.RECHECK):
            bump.append(known.id)
            staged.repeats += found != Verdict.STALE
            staged.stale += found == Verdict.STALE
        if found not in (Verdict.REPEAT, Verdict.STALE):
            staged.changed.append((alert, known.id, found))
    seen(session, bump, now)
    return staged


def seen(session: Session, alert_ids: Sequence[int], now: datetime) -> None:
    """A delivery repeated these alerts' current state: bump last seen and the count."""
    if not alert_ids:
        return
    session.execute(
        _SEEN,
        {"ids": sorted(alert_ids), "now": now},
        execution_options={"synchronize_session": False},
    )
