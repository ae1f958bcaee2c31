"""A Prometheus rule fires → Alertmanager posts → Fulcrum opens a routed, CI-bound incident.

Every piece is real and on loopback: a prometheus_client exporter whose gauge the test
sets, Debian Prometheus evaluating an alerting rule every second, Debian Alertmanager
posting its webhook with a bearer token made by ``fulcrum token create``, and ``fulcrum
serve`` in a child process on the test database. The routing rule is created through the
API. When the gauge recovers, the rule stops firing and the incident's alerts resolve.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerting.canonical import AlertStatus
from alerting.intake_models import Alert, AlertIncident
from itsm_core.actor import SYSTEM
from itsm_core.cmdb import service as cmdb
from itsm_core.incidents.choices import IncidentState
from itsm_core.incidents.models import Incident
from itsm_core.people import service as people
from itsm_core.people.roles import Role
from tests.conftest import TokenFactory
from tests.peers.exporter import Exporter
from tests.peers.fulcrum_server import FulcrumServer, create_token
from tests.peers.prom_fixtures import AlertmanagerFactory, PrometheusFactory

pytestmark = pytest.mark.slow

T = TypeVar("T")
WAIT = 90.0  # seconds: rule evaluation + group_wait + delivery, with room for a busy box

ROUTER = "township-router-07"
HEALTHY = "township-router-08"
RULES = """
groups:
  - name: fulcrum-e2e
    interval: 1s
    rules:
      - alert: ClinicLinkDown
        expr: clinic_link_up == 0
        for: 0s
        labels:
          severity: critical
          team: network
        annotations:
          summary: "Link through {{ $labels.ci }} is down"
"""


def _eventually(what: str, probe: Callable[[], T | None], timeout: float = WAIT) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found is not None:
            return found
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def test_a_firing_rule_opens_a_routed_incident_and_its_resolution_resolves_the_alerts(
    fulcrum_server: FulcrumServer,
    database_url: str,
    sessions: sessionmaker[Session],
    auth: TokenFactory,
    metrics_exporter: Exporter,
    prometheus_factory: PrometheusFactory,
    alertmanager_factory: AlertmanagerFactory,
) -> None:
    # The CMDB and the teams.
    with sessions() as s, s.begin():
        router = cmdb.create_ci(s, SYSTEM, {"class": "network_device", "name": ROUTER})
        healthy = cmdb.create_ci(s, SYSTEM, {"class": "network_device", "name": HEALTHY})
        network = people.create_group(s, SYSTEM, "Network team")
        servers = people.create_group(s, SYSTEM, "Server team")
        ids = (router.id, healthy.id, network.id, servers.id)
    router_id, healthy_id, network_id, servers_id = ids

    # Routing rules through the API: a decoy first, then the one the alert must match.
    admin = auth(Role.ADMIN)
    for rule in (
        {
            "name": "servers",
            "matchers": [{"label": "team", "op": "=", "value": "server"}],
            "assignment_group_id": servers_id,
        },
        {
            "name": "network links",
            "matchers": [{"label": "team", "op": "=", "value": "network"}],
            "severities": ["critical"],
            "fault_type": "link down",
            "assignment_group_id": network_id,
            "auto_resolve": True,
        },
    ):
        created = httpx.post(
            f"{fulcrum_server.url}/api/v1/routing-rules", json=rule, headers=admin, timeout=30
        )
        assert created.status_code == 201, created.text

    # Alertmanager authenticates with a token made by the CLI, as an operator would.
    token = create_token(database_url, "alertmanager", Role.ALERT_SOURCE.value)
    am = alertmanager_factory(
        webhook_url=f"{fulcrum_server.url}/api/v1/webhooks/alertmanager", bearer_token=token
    )
    link_up = metrics_exporter.gauge("clinic_link_up", "1 while the link answers.", ["ci"])
    link_up.labels(ROUTER).set(1)
    link_up.labels(HEALTHY).set(1)
    prom = prometheus_factory(
        scrape_targets=[metrics_exporter.address], rules=RULES, alertmanager=am.address
    )
    prom.wait_for("count(clinic_link_up) == 2")

    # The link goes down: the rule fires.
    link_up.labels(ROUTER).set(0)

    def incident_of_router() -> Incident | None:
        with sessions() as s:
            return s.scalars(select(Incident).where(Incident.primary_ci_id == router_id)).first()

    incident = _eventually("an incident on the router", incident_of_router)
    time.sleep(3)  # room for a duplicate delivery to (wrongly) open a second one

    with sessions() as s:
        incidents = s.scalars(select(Incident)).all()
        alerts = s.scalars(select(Alert).where(Alert.name == "ClinicLinkDown")).all()
        assert [i.id for i in incidents] == [incident.id]
        assert incident.assignment_group_id == network_id
        assert len(alerts) == 1
        alert = alerts[0]
        assert alert.ci_id == router_id
        assert alert.incident_id == incident.id
        assert alert.status == AlertStatus.FIRING
        assert alert.labels["ci"] == ROUTER
        assert alert.labels["team"] == "network"
        assert alert.generator_url is not None
        assert prom.url in alert.generator_url
        assert all(i.primary_ci_id != healthy_id for i in incidents)
    assert am.notifications_sent() >= 1

    # The link comes back: the rule stops firing and Alertmanager sends the resolution.
    link_up.labels(ROUTER).set(1)

    def resolved_alert() -> Alert | None:
        with sessions() as s:
            found = s.scalars(select(Alert).where(Alert.incident_id == incident.id)).all()
            if found and all(a.status == AlertStatus.RESOLVED for a in found):
                return found[0]
            return None

    resolved = _eventually("the incident's alerts to resolve", resolved_alert)
    assert resolved.ends_at is not None

    # The routing rule said auto_resolve: the incident follows its alerts.
    def resolved_incident() -> Incident | None:
        with sessions() as s:
            inc = s.get(Incident, incident.id)
            return inc if inc is not None and inc.state == IncidentState.RESOLVED else None

    _eventually("the incident to auto-resolve", resolved_incident, timeout=30)
    with sessions() as s:
        facts = s.get(AlertIncident, incident.id)
        assert facts is not None
        assert facts.alerts_resolved_at is not None
        assert len(s.scalars(select(Incident)).all()) == 1
