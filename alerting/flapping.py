"""Flapping: an alert that keeps changing state is marked and damped.

Each status change (firing → resolved, resolved → firing) is remembered on the alert
(``transitions``, trimmed to ``[alerting] flapping_window_minutes``). When the window
holds ``flapping_transitions`` changes the alert *flaps*: its changes no longer open,
reopen or resolve anything — its incident stays open until the NOC resolves it (one
timeline entry says why). It stops flapping once it has made no change for
``flapping_quiet_minutes``; the check happens at its next change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from alerting.intake_models import Alert
from alerting.settings import AlertingSettings


@dataclass(frozen=True, slots=True)
class Flap:
    """What one status change did to the alert's flapping state."""

    flapping: bool  # flapping after this change
    started: bool  # this change made it flap
    ended: bool  # this change came after a quiet spell that ended the flapping


def record_transition(alert: Alert, now: datetime, cfg: AlertingSettings) -> Flap:
    """Remember a status change of ``alert`` at ``now`` and update its flapping flag."""
    window_start = now - timedelta(minutes=cfg.flapping_window_minutes)
    times = [datetime.fromisoformat(t) for t in alert.transitions or []]
    previous = max(times) if times else None
    ended = False
    if alert.flapping and (
        previous is None or now - previous >= timedelta(minutes=cfg.flapping_quiet_minutes)
    ):
        alert.flapping = False
        alert.flapping_since = None
        ended = True
    recent = [t for t in times if t > window_start]
    recent.append(now)
    # Never keep more than the threshold needs, however fast it flaps.
    recent = sorted(recent)[-cfg.flapping_transitions :]
    alert.transitions = [t.isoformat() for t in recent]
    started = False
    if not alert.flapping and len(recent) >= cfg.flapping_transitions:
        alert.flapping = True
        alert.flapping_since = now
        started = True
    return Flap(alert.flapping, started, ended)
