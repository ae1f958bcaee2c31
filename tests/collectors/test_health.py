"""HealthTracker on its own: CI binding, labels, secrets kept out, names per reason."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from pydantic import SecretStr
from sqlalchemy.orm import Session

from alerting.canonical import AlertSourceKind, AlertStatus, CanonicalAlert, Severity
from collectors.credentials import SnmpCredentials
from collectors.errors import AuthenticationFailed, ProtocolError, TargetUnreachable
from collectors.health import HealthTracker, alert_name, fingerprint
from collectors.target_state import TargetState
from collectors.targets import Target
from tests.itsm_core.cmdb.factories import make_ci

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
COMMUNITY = "clinic-community-7"


class Collected:
    """An AlertSink that keeps what it is given (the pipeline is tested elsewhere)."""

    def __init__(self) -> None:
        self.alerts: list[CanonicalAlert] = []

    def submit(self, session: Session, alerts: Sequence[CanonicalAlert]) -> None:
        self.alerts.extend(alerts)


def test_alert_of_a_cmdb_device_is_bound_and_keeps_secrets_out(session: Session) -> None:
    with session.begin():
        device = make_ci(session, "network_device", "clinic-cpe-17", management_address="10.7.17.1")
    target = Target(
        "snmp",
        "10.7.17.1:161",
        60,
        name="clinic-cpe-17",
        ci_id=device.id,
        credentials=SnmpCredentials(community=SecretStr(COMMUNITY)),
    )
    sink = Collected()
    tracker = HealthTracker(sink, failures_before_alert=2)
    # A (buggy) collector quoting the community in its error text.
    leaky = TargetUnreachable(target.key, f"timeout talking to {COMMUNITY}@10.7.17.1")
    with session.begin():
        first = tracker.record(session, target, leaky, T0)
    with session.begin():
        second = tracker.record(session, target, leaky, T0 + timedelta(minutes=1))
    assert (first.consecutive_failures, first.alerts) == (1, ())
    (alert,) = second.alerts
    assert alert.source == AlertSourceKind.COLLECTOR
    assert alert.status == AlertStatus.FIRING
    assert alert.severity == Severity.MAJOR
    assert alert.name == "TargetUnreachable"
    assert alert.ci_id == device.id
    assert alert.starts_at == T0
    assert alert.labels == {
        "alertname": "TargetUnreachable",
        "target": "snmp:10.7.17.1:161",
        "kind": "snmp",
        "instance": "10.7.17.1:161",
        "reason": "unreachable",
        "target_name": "clinic-cpe-17",
        "ci": str(device.id),
    }
    assert COMMUNITY not in str(alert)
    assert "***@10.7.17.1" in alert.annotations["description"]
    state = session.get(TargetState, target.key)
    assert state is not None
    assert state.last_detail is not None
    assert COMMUNITY not in state.last_detail
    session.rollback()
    # Recovery resolves the same fingerprint and clears the streak.
    with session.begin():
        back = tracker.record(session, target, None, T0 + timedelta(minutes=2))
    (resolved,) = back.alerts
    assert resolved.status == AlertStatus.RESOLVED
    assert resolved.fingerprint == alert.fingerprint
    assert resolved.starts_at == T0
    assert resolved.ends_at == T0 + timedelta(minutes=2)
    with session.begin():
        state = session.get(TargetState, target.key)
        assert state is not None
        assert (state.consecutive_failures, state.alert_raised, state.failing_since) == (
            0,
            False,
            None,
        )
    assert len(sink.alerts) == 2


def test_names_fingerprints_and_severities_per_reason() -> None:
    key = "proxmox:https://pve1:8006"
    assert alert_name(AuthenticationFailed.reason) == "AuthenticationFailed"
    assert alert_name(ProtocolError.reason) == "CollectorProtocolError"
    assert alert_name("tls_expired") == "CollectorTlsExpired"
    assert fingerprint(key, "unreachable") == fingerprint(key, "unreachable")
    assert fingerprint(key, "unreachable") != fingerprint(key, "authentication_failed")
    assert fingerprint(key, "unreachable") != fingerprint(
        "proxmox:https://pve2:8006", "unreachable"
    )
