"""Routing an alert: first match wins, every kind of condition, defaults, CMDB impact."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from alerting.canonical import Severity
from alerting.routing import service
from alerting.routing.engine import route
from alerting.routing.schemas import RulePatch
from itsm_core.actor import SYSTEM
from itsm_core.cmdb.choices import Criticality, RelationType
from itsm_core.cmdb.models import ConfigurationItem
from itsm_core.incidents.choices import IncidentKind, Level
from tests.alerting.routing.factories import alert, make_group, make_plan, make_rule, make_user
from tests.itsm_core.cmdb.factories import link, make_ci


def test_no_rules_gives_the_documented_default(session: Session) -> None:
    decision = route(session, alert({"job": "snmp"}, Severity.CRITICAL), None)

    assert decision.rule_id is None
    assert decision.rule_name is None
    assert decision.kind is IncidentKind.INCIDENT
    assert decision.fault_type is None
    assert decision.assignment_group_id is None
    assert decision.first_responsible_id is None
    assert decision.contingency_plan is None
    assert decision.auto_resolve is False
    assert decision.urgency is Level.HIGH
    assert decision.impact is Level.LOW


@pytest.mark.parametrize(
    ("severity", "urgency"),
    [
        (Severity.CRITICAL, Level.HIGH),
        (Severity.MAJOR, Level.HIGH),
        (Severity.WARNING, Level.MEDIUM),
        (Severity.INFO, Level.LOW),
    ],
)
def test_urgency_from_severity_unless_the_rule_sets_it(
    session: Session, severity: Severity, urgency: Level
) -> None:
    make_rule(session, "from-severity", matchers=[{"label": "x", "value": "1"}])
    make_rule(session, "fixed", matchers=[{"label": "x", "value": "2"}], urgency="low")

    assert route(session, alert({"x": "1"}, severity), None).urgency is urgency
    assert route(session, alert({"x": "2"}, severity), None).urgency is Level.LOW


def test_first_matching_rule_wins_in_position_order(session: Session) -> None:
    network, noc = make_group(session, "network"), make_group(session, "noc")
    snmp = make_rule(
        session,
        "snmp",
        matchers=[{"label": "job", "value": "snmp"}],
        assignment_group_id=network.id,
    )
    anything = make_rule(session, "anything", assignment_group_id=noc.id)

    assert route(session, alert({"job": "snmp"}), None).rule_id == snmp.id
    assert route(session, alert({"job": "node"}), None).rule_id == anything.id

    service.update_rule(session, SYSTEM, anything, RulePatch(position=1))

    decision = route(session, alert({"job": "snmp"}), None)
    assert decision.rule_id == anything.id
    assert decision.assignment_group_id == noc.id


def test_disabled_rules_are_skipped(session: Session) -> None:
    first = make_rule(session, "off", enabled=False)
    second = make_rule(session, "on")

    assert route(session, alert(), None).rule_id == second.id
    service.update_rule(session, SYSTEM, first, RulePatch(enabled=True))
    assert route(session, alert(), None).rule_id == first.id


def test_every_label_matcher_must_hold(session: Session) -> None:
    rule = make_rule(
        session,
        matchers=[
            {"label": "alertname", "op": "=~", "value": "NodeFilesystem.*"},
            {"label": "instance", "op": "=~", "value": "pacs-.*"},
            {"label": "mountpoint", "op": "!~", "value": "/boot.*"},
            {"label": "env", "op": "!=", "value": "test"},
        ],
    )
    base = {"alertname": "NodeFilesystemSpaceFillingUp", "instance": "pacs-01:9100"}

    assert route(session, alert({**base, "mountpoint": "/data"}), None).rule_id == rule.id
    assert route(session, alert(base), None).rule_id == rule.id  # no mountpoint, no env: ""
    assert route(session, alert({**base, "mountpoint": "/boot/efi"}), None).rule_id is None
    assert route(session, alert({**base, "env": "test"}), None).rule_id is None
    assert route(session, alert({**base, "instance": "his-01"}), None).rule_id is None
    # Anchored: "xpacs-01" does not match "pacs-.*".
    assert route(session, alert({**base, "instance": "xpacs-01"}), None).rule_id is None


def test_alertname_falls_back_to_the_alert_name(session: Session) -> None:
    rule = make_rule(session, matchers=[{"label": "alertname", "value": "DeviceUnreachable"}])

    assert route(session, alert({}, name="DeviceUnreachable"), None).rule_id == rule.id
    # A label, when present, is what counts.
    labelled = alert({"alertname": "Other"}, name="DeviceUnreachable")
    assert route(session, labelled, None).rule_id is None


def test_severity_set(session: Session) -> None:
    rule = make_rule(session, severities=["critical", "major"])

    assert route(session, alert(severity=Severity.MAJOR), None).rule_id == rule.id
    assert route(session, alert(severity=Severity.WARNING), None).rule_id is None


def test_ci_class_set(session: Session) -> None:
    rule = make_rule(session, ci_classes=["network_device", "interface"])
    router = make_ci(session, "network_device", "rt-01")
    vm = make_ci(session, "vm", "vm-01")

    assert route(session, alert(), router).rule_id == rule.id
    assert route(session, alert(), vm).rule_id is None
    assert route(session, alert(), None).rule_id is None


def test_site_and_site_kind(session: Session) -> None:
    township = make_ci(session, "site", "城关镇卫生院", attributes={"kind": "township_hospital"})
    dc = make_ci(session, "site", "county dc", attributes={"kind": "data_center"})
    router = make_ci(session, "network_device", "rt-01", site_id=township.id)
    core = make_ci(session, "network_device", "core-01", site_id=dc.id)
    nowhere = make_ci(session, "network_device", "cpe-01")
    by_kind = make_rule(session, "by-kind", site_kinds=["township_hospital"])
    by_site = make_rule(session, "by-site", site_ids=[dc.id])

    assert route(session, alert(), router).rule_id == by_kind.id
    assert route(session, alert(), township).rule_id == by_kind.id  # a site is its own site
    assert route(session, alert(), core).rule_id == by_site.id
    assert route(session, alert(), nowhere).rule_id is None
    assert route(session, alert(), None).rule_id is None


def test_a_matching_rule_fills_every_field(session: Session) -> None:
    group = make_group(session)
    first, second = make_user(session), make_user(session)
    plan = make_plan(session, "township-link-down")
    rule = make_rule(
        session,
        "township",
        fault_type="network.township-link",
        kind="incident",
        assignment_group_id=group.id,
        first_responsible_id=first.id,
        second_responsible_id=second.id,
        urgency="high",
        contingency_plan_id=plan.id,
        auto_resolve=True,
    )

    decision = route(session, alert(severity=Severity.INFO), None)

    assert decision.rule_id == rule.id
    assert decision.rule_name == "township"
    assert decision.fault_type == "network.township-link"
    assert decision.assignment_group_id == group.id
    assert (decision.first_responsible_id, decision.second_responsible_id) == (first.id, second.id)
    assert decision.urgency is Level.HIGH
    assert decision.contingency_plan == "township-link-down"
    assert decision.contingency_plan_id == plan.id
    assert decision.auto_resolve is True


# Impact from the CMDB ----------------------------------------------------------------


def _estate(session: Session) -> dict[str, ConfigurationItem]:
    """pve-1 hosts his-vm (HIS, clinical-critical) and oa-vm (office automation, normal);
    the telemedicine service needs one of two redundant gateways; a lone CPE serves nothing.
    """
    cis = {
        "pve-1": make_ci(session, "hypervisor_node", "pve-1"),
        "his-vm": make_ci(session, "vm", "his-vm"),
        "his-app": make_ci(session, "application", "his-app"),
        "his": make_ci(
            session, "business_service", "HIS", criticality=Criticality.CLINICAL_CRITICAL
        ),
        "oa-vm": make_ci(session, "vm", "oa-vm"),
        "oa-app": make_ci(session, "application", "oa-app"),
        "oa": make_ci(session, "business_service", "OA"),
        "gw-1": make_ci(session, "vm", "gw-1"),
        "gw-2": make_ci(session, "vm", "gw-2"),
        "tele": make_ci(
            session, "business_service", "Telemedicine", criticality=Criticality.CLINICAL_CRITICAL
        ),
        "cpe": make_ci(session, "network_device", "cpe-1", criticality=Criticality.LOW),
        "core": make_ci(session, "network_device", "core-1", criticality=Criticality.HIGH),
    }
    link(session, cis["his-vm"], RelationType.RUNS_ON, cis["pve-1"])
    link(session, cis["his-app"], RelationType.RUNS_ON, cis["his-vm"])
    link(session, cis["his"], RelationType.DEPENDS_ON, cis["his-app"])
    link(session, cis["oa-vm"], RelationType.RUNS_ON, cis["pve-1"])
    link(session, cis["oa-app"], RelationType.RUNS_ON, cis["oa-vm"])
    link(session, cis["oa"], RelationType.DEPENDS_ON, cis["oa-app"])
    link(session, cis["tele"], RelationType.DEPENDS_ON, cis["gw-1"], redundant=True)
    link(session, cis["tele"], RelationType.DEPENDS_ON, cis["gw-2"], redundant=True)
    return cis


@pytest.mark.parametrize(
    ("ci", "impact"),
    [
        ("pve-1", Level.HIGH),  # HIS (clinical-critical) is downstream, two levels down
        ("his-vm", Level.HIGH),
        ("his", Level.HIGH),  # the clinical-critical service itself
        ("oa-vm", Level.MEDIUM),  # a business service, not clinical-critical
        ("gw-1", Level.MEDIUM),  # telemedicine degraded (its redundant peer carries it)
        ("core", Level.MEDIUM),  # nothing modelled downstream, but itself highly critical
        ("cpe", Level.LOW),
        (None, Level.LOW),
    ],
)
def test_impact_comes_from_the_cmdb(session: Session, ci: str | None, impact: Level) -> None:
    cis = _estate(session)

    assert route(session, alert(), cis[ci] if ci else None).impact is impact


def test_min_impact_raises_but_never_lowers(session: Session) -> None:
    cis = _estate(session)
    make_rule(session, min_impact="medium")

    assert route(session, alert(), cis["cpe"]).impact is Level.MEDIUM
    assert route(session, alert(), cis["pve-1"]).impact is Level.HIGH
