"""Resolution: an incident whose alerts all resolved resolves itself or waits, per rule."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerting.intake_models import AlertIncident
from alerting.notifications.choices import ChannelKind, Language, NotificationEvent
from alerting.notifications.models import NotificationChannel, NotificationDelivery
from alerting.routing import service as routing
from alerting.routing.schemas import RuleSpec
from itsm_core.actor import SYSTEM
from itsm_core.incidents.choices import IncidentState, ResolutionCode
from itsm_core.incidents.models import Incident
from itsm_core.people import service as people
from itsm_core.settings import Settings
from tests.alerting.intake.helpers import (
    T0,
    Estate,
    alert,
    alert_notes,
    build_estate,
    minutes,
    resolved,
    run,
)


@pytest.fixture
def estate(sessions: sessionmaker[Session]) -> Estate:
    return build_estate(sessions)


def _rule(sessions: sessionmaker[Session], **fields: Any) -> None:
    with sessions() as s, s.begin():
        routing.create_rule(s, SYSTEM, RuleSpec.model_validate({"name": "r", **fields}))


def _channel(sessions: sessionmaker[Session]) -> None:
    """A channel that wants every event: each notification queues one delivery row."""
    with sessions() as s, s.begin():
        s.add(
            NotificationChannel(
                name="noc-robot",
                kind=ChannelKind.WEBHOOK,
                language=Language.EN,
                config={},
                secret={},
            )
        )


def _events(session: Session) -> list[str]:
    stmt = select(NotificationDelivery.event).order_by(NotificationDelivery.id)
    return [str(e) for e in session.scalars(stmt)]


def test_auto_resolve_when_the_rule_says_so(
    sessions: sessionmaker[Session], settings: Settings, estate: Estate
) -> None:
    _rule(sessions, auto_resolve=True, fault_type="pacs-cpu")
    _channel(sessions)
    cpu = alert("cpu", instance="pacs-01:9100", name="CPU")
    mem = alert("mem", instance="pacs-01:9100", name="Memory")
    (opened,) = run(sessions, settings, [cpu, mem], T0).incidents_opened
    one = run(sessions, settings, [resolved(cpu, T0 + minutes(2))], T0 + minutes(2))
    assert one.incidents_resolved == []
    two = run(sessions, settings, [resolved(mem, T0 + minutes(3))], T0 + minutes(3))
    assert two.incidents_resolved == [opened]
    with sessions() as s:
        incident = s.get_one(Incident, opened)
        assert incident.state == IncidentState.RESOLVED
        assert incident.resolution_code == ResolutionCode.SELF_RECOVERED
        link = s.get_one(AlertIncident, opened)
        assert link.auto_resolve
        assert link.fault_type == "pacs-cpu"
        assert link.alerts_resolved_at == T0 + minutes(3)
        bodies = [n.body for n in alert_notes(s, opened)]
        assert "Alert(s) resolved: CPU (1 of 2 still firing)" in bodies
        assert "All 2 alert(s) resolved; resolving automatically" in bodies
        assert _events(s) == [NotificationEvent.OPENED, NotificationEvent.RESOLVED]


def test_wait_for_the_noc_by_default(
    sessions: sessionmaker[Session], settings: Settings, estate: Estate
) -> None:
    _channel(sessions)
    cpu = alert("cpu", instance="pacs-01:9100", name="CPU")
    (opened,) = run(sessions, settings, [cpu], T0).incidents_opened
    result = run(sessions, settings, [resolved(cpu, T0 + minutes(2))], T0 + minutes(2))
    assert result.incidents_resolved == []
    with sessions() as s:
        incident = s.get_one(Incident, opened)
        assert incident.state == IncidentState.NEW
        (last,) = [n for n in alert_notes(s, opened) if n.data.get("all_resolved")]
        assert "waiting for the NOC" in last.body
        assert _events(s) == [NotificationEvent.OPENED, NotificationEvent.ALERTS_RESOLVED]


def test_routing_fills_the_incident(
    sessions: sessionmaker[Session], settings: Settings, estate: Estate
) -> None:
    with sessions() as s, s.begin():
        group = people.create_group(s, SYSTEM, "systems")
        first = people.create_user(s, SYSTEM, "wang")
        second = people.create_user(s, SYSTEM, "zhao")
        ids = group.id, first.id, second.id
    _rule(
        sessions,
        matchers=[{"label": "alertname", "op": "=", "value": "NodeFilesystemSpaceFillingUp"}],
        fault_type="disk-full",
        assignment_group_id=ids[0],
        first_responsible_id=ids[1],
        second_responsible_id=ids[2],
        urgency="high",
    )
    disk = alert("disk", instance="pacs-01:9100", name="NodeFilesystemSpaceFillingUp")
    (opened,) = run(sessions, settings, [disk], T0).incidents_opened
    with sessions() as s:
        incident = s.get_one(Incident, opened)
        assert (incident.assignment_group_id, incident.first_responsible_id) == ids[:2]
        assert incident.second_responsible_id == ids[2]
        assert incident.state == IncidentState.ASSIGNED
        assert incident.urgency == "high"
        assert "Fault type: disk-full" in incident.description
        assert incident.source == "alert"
