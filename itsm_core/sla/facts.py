"""What the SLA clock reads from an incident: its start, its pauses and its stops.

Everything is read from facts the incident lifecycle writes (``created_at``,
``acknowledged_at``, ``resolved_at``, ``cancelled_at``, the ``incident_pending_periods``
rows and the state changes on the timeline), never from earlier SLA results, so the
records can be recomputed at any time and come out the same.

Pauses of the clock:

- a pending period with ``on_requester`` (waiting on the requester); one still open
  stops the clock now; pending on a vendor or a change does **not** pause;
- a stretch the incident spent ``resolved`` before it was reopened: nobody was working
  on it, so a reopened incident resumes with the time it had left.

Stops: time to own stops when the incident is first accepted (``acknowledged_at``) or
resolved, whichever is first; time to resolve when it is resolved (reopening clears
``resolved_at``, so the clock runs again). Otherwise cancelling stops both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from itsm_core.incidents.choices import IncidentState, TimelineKind
from itsm_core.incidents.models import Incident, PendingPeriod, TimelineEntry
from itsm_core.sla.choices import SlaMetric
from itsm_core.sla.clock import Pause


@dataclass(frozen=True, slots=True)
class Stop:
    """When a clock stopped for good, and whether by doing the work (else cancellation)."""

    at: datetime
    done: bool


@dataclass(frozen=True, slots=True)
class Facts:
    """The clock's view of one incident."""

    start: datetime
    pauses: tuple[Pause, ...]
    """Sorted by start; the last may be open (end None)."""
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    cancelled_at: datetime | None = None

    def stop(self, metric: SlaMetric) -> Stop | None:
        """Where ``metric``'s clock stopped, if it did."""
        if metric is SlaMetric.OWN:
            done = [at for at in (self.acknowledged_at, self.resolved_at) if at is not None]
        else:
            done = [self.resolved_at] if self.resolved_at is not None else []
        if done:
            return Stop(min(done), done=True)
        if self.cancelled_at is not None:
            return Stop(self.cancelled_at, done=False)
        return None

    def pauses_until(self, stop: Stop | None) -> list[Pause]:
        """The pauses that happened before ``stop``, cut off there (all without a stop).

        A pause after the clock stopped must not move a due time that is already history.
        """
        if stop is None:
            return list(self.pauses)
        kept: list[Pause] = []
        for begin, end in self.pauses:
            if begin >= stop.at:
                continue
            kept.append((begin, stop.at if end is None or end > stop.at else end))
        return kept

    @property
    def open_pause_start(self) -> datetime | None:
        """When the pause that is still running began."""
        return next((begin for begin, end in self.pauses if end is None), None)

    @property
    def last_pause_end(self) -> datetime | None:
        """When the most recent closed pause ended."""
        ends = [end for _, end in self.pauses if end is not None]
        return max(ends) if ends else None


def facts_of(session: Session, incident: Incident, now: datetime) -> Facts:
    """Read the facts of ``incident`` (``now`` stands in for an unflushed ``created_at``)."""
    periods = session.execute(
        select(PendingPeriod.started_at, PendingPeriod.ended_at).where(
            PendingPeriod.incident_id == incident.id, PendingPeriod.on_requester.is_(True)
        )
    ).all()
    pauses: list[Pause] = [(row.started_at, row.ended_at) for row in periods]
    pauses += _resolved_stretches(session, incident.id)
    pauses.sort(key=lambda pause: pause[0])
    return Facts(
        start=incident.created_at or now,
        pauses=tuple(pauses),
        acknowledged_at=incident.acknowledged_at,
        resolved_at=incident.resolved_at,
        cancelled_at=incident.cancelled_at,
    )


def _resolved_stretches(session: Session, incident_id: int) -> list[Pause]:
    """Closed stretches in ``resolved`` (resolve … reopen), from the state-change timeline."""
    moves = session.execute(
        select(TimelineEntry.at, TimelineEntry.from_state, TimelineEntry.to_state)
        .where(
            TimelineEntry.incident_id == incident_id,
            TimelineEntry.kind == TimelineKind.STATE_CHANGE,
            or_(
                TimelineEntry.to_state == IncidentState.RESOLVED,
                TimelineEntry.from_state == IncidentState.RESOLVED,
            ),
        )
        .order_by(TimelineEntry.at, TimelineEntry.id)
    ).all()
    stretches: list[Pause] = []
    since: datetime | None = None
    for move in moves:
        if move.to_state == IncidentState.RESOLVED:
            since = move.at
        elif since is not None:
            stretches.append((since, move.at))
            since = None
    # A stretch still open is no pause: the incident is resolved, so the clock stopped.
    return stretches
