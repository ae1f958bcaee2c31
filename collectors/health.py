"""Collector health: N failed polls in a row raise a canonical alert; recovery resolves it.

``HealthTracker.record(session, target, error, now)`` is called after every poll (in the
poll's own short transaction). State lives in ``collector_target_state`` so a restart
neither forgets a failing streak nor raises its alert twice:

- a failure counts ``consecutive_failures`` up and keeps the reason and detail (scrubbed
  of the target's secrets); at ``failures_before_alert`` a *firing* alert goes to the
  ``AlertSink`` — name from the error's reason (``TargetUnreachable``,
  ``AuthenticationFailed``, …), fingerprint stable per target and reason, labels with the
  target, its kind, ``instance`` (the address) and ``ci`` (the CI id when the target is a
  CMDB CI; ``ci_id`` is set too);
- a failure with another reason while an alert is raised resolves the old alert and
  raises one for the new reason (another fingerprint);
- a success resets the streak and resolves a raised alert (same fingerprint).

If the sink refuses the alert, the failure is still recorded and the alert is tried
again at the next poll (the sink runs in a savepoint).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from alerting.canonical import AlertSink, AlertSourceKind, AlertStatus, CanonicalAlert, Severity
from collectors.errors import CollectorError
from collectors.target_state import TargetState
from collectors.targets import Target

log = logging.getLogger("fulcrum.collectors.health")

ALERT_NAMES = {
    "unreachable": "TargetUnreachable",
    "authentication_failed": "AuthenticationFailed",
    "protocol_error": "CollectorProtocolError",
}
SEVERITIES = {"unreachable": Severity.MAJOR}
_MAX_DETAIL = 500


@dataclass(frozen=True, slots=True)
class HealthChange:
    """The target's state after one poll, and the alerts it produced."""

    consecutive_failures: int
    alerts: tuple[CanonicalAlert, ...] = ()


def alert_name(reason: str) -> str:
    """``unreachable`` → ``TargetUnreachable``; unknown reasons get a CamelCase name."""
    return ALERT_NAMES.get(reason) or "Collector" + "".join(
        part.capitalize() for part in reason.split("_")
    )


def fingerprint(target_key: str, reason: str) -> str:
    """Stable across polls and restarts for one target and one reason."""
    return hashlib.sha256(f"collector\x00{target_key}\x00{reason}".encode()).hexdigest()[:32]


def scrub(text: str, secrets: list[str]) -> str:
    """``text`` with any secret value replaced, cut to the stored length."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 3:
            text = text.replace(secret, "***")
    return text[:_MAX_DETAIL]


class HealthTracker:
    """Keeps per-target poll health and raises/resolves alerts through ``sink``."""

    def __init__(self, sink: AlertSink, failures_before_alert: int) -> None:
        if failures_before_alert < 1:
            raise ValueError("failures_before_alert must be at least 1")
        self.sink = sink
        self.failures_before_alert = failures_before_alert

    def record(
        self, session: Session, target: Target, error: CollectorError | None, now: datetime
    ) -> HealthChange:
        """Record one poll's outcome; flushes (the caller commits)."""
        state = session.get(TargetState, target.key, with_for_update=True)
        if state is None:
            state = TargetState(
                target_key=target.key, kind=target.kind, consecutive_failures=0, alert_raised=False
            )
            session.add(state)
        state.kind = target.kind
        state.ci_id = target.ci_id
        state.last_attempt_at = now
        alerts: list[CanonicalAlert] = []
        if error is None:
            state.consecutive_failures = 0
            state.last_success_at = now
            if state.alert_raised:
                alerts.append(self._resolved(state, target, now))
        else:
            state.consecutive_failures += 1
            state.failing_since = state.failing_since or now
            state.last_reason = error.reason[:40]
            state.last_detail = scrub(error.detail, target.secrets())
            if state.alert_raised and state.alert_reason != error.reason:
                alerts.append(self._resolved(state, target, now))
            if state.consecutive_failures >= self.failures_before_alert and (
                not state.alert_raised or state.alert_reason != error.reason
            ):
                alerts.append(self._firing(state, target, error, now))
        session.flush()
        if alerts and self._submit(session, alerts):
            # Only a delivered transition moves the flag: a refused one is retried.
            last = alerts[-1]
            state.alert_raised = last.status is AlertStatus.FIRING
            state.alert_reason = last.labels["reason"] if state.alert_raised else None
        else:
            alerts = []
        if error is None and not state.alert_raised:
            state.failing_since = None
        session.flush()
        return HealthChange(state.consecutive_failures, tuple(alerts))

    def _submit(self, session: Session, alerts: list[CanonicalAlert]) -> bool:
        try:
            with session.begin_nested():
                self.sink.submit(session, alerts)
        except Exception:
            log.exception("alert sink refused %d collector health alert(s)", len(alerts))
            return False
        return True

    def _firing(
        self, state: TargetState, target: Target, error: CollectorError, now: datetime
    ) -> CanonicalAlert:
        detail = scrub(error.detail, target.secrets())
        return CanonicalAlert(
            source=AlertSourceKind.COLLECTOR,
            fingerprint=fingerprint(target.key, error.reason),
            status=AlertStatus.FIRING,
            severity=SEVERITIES.get(error.reason, Severity.WARNING),
            name=alert_name(error.reason),
            starts_at=state.failing_since or now,
            labels=_labels(target, error.reason),
            annotations={
                "summary": f"{target.kind} target {target.label} failed "
                f"{state.consecutive_failures} polls in a row ({error.reason})",
                "description": detail,
            },
            ci_id=target.ci_id,
        )

    def _resolved(self, state: TargetState, target: Target, now: datetime) -> CanonicalAlert:
        reason = state.alert_reason or "collector_error"
        return CanonicalAlert(
            source=AlertSourceKind.COLLECTOR,
            fingerprint=fingerprint(target.key, reason),
            status=AlertStatus.RESOLVED,
            severity=SEVERITIES.get(reason, Severity.WARNING),
            name=alert_name(reason),
            starts_at=state.failing_since or now,
            ends_at=now,
            labels=_labels(target, reason),
            annotations={"summary": f"{target.kind} target {target.label} answers again"},
            ci_id=target.ci_id,
        )


def _labels(target: Target, reason: str) -> dict[str, str]:
    labels = {
        "alertname": alert_name(reason),
        "target": target.key,
        "kind": target.kind,
        "instance": target.address,
        "reason": reason,
    }
    if target.name:
        labels["target_name"] = target.name
    if target.ci_id is not None:
        labels["ci"] = str(target.ci_id)
    return labels
