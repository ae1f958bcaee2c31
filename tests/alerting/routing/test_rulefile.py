"""The YAML rule file: the example parses and loads into the demo estate; errors are
keyed by their place in the file; loading is an upsert; export round-trips."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from alerting.canonical import Severity
from alerting.routing import loader, plans, rulefile, service
from alerting.routing.engine import route
from api.demo.estate import seed_estate
from itsm_core.actor import SYSTEM
from itsm_core.errors import ValidationFailed
from itsm_core.incidents.choices import Level
from tests.alerting.routing.factories import alert, make_group, make_rule, make_user
from tests.itsm_core.cmdb.factories import make_ci

EXAMPLE = Path(__file__).parents[3] / "deploy" / "routing-rules.example.yaml"


def _errors(text: str, session: Session | None = None) -> dict[str, list[str]]:
    """The errors of parsing ``text`` or, with a session, of loading it."""
    if session is None:
        with pytest.raises(ValidationFailed) as refused:
            rulefile.parse(text)
    else:
        parsed = rulefile.parse(text)
        with pytest.raises(ValidationFailed) as refused:
            loader.load(session, SYSTEM, parsed)
    return refused.value.errors


def test_the_example_parses() -> None:
    parsed = rulefile.parse(EXAMPLE.read_text(encoding="utf-8"))

    assert len(parsed.rules) >= 8
    assert {p.name for p in parsed.plans} >= {"township-link-down", "pacs-storage-full"}
    assert all("预案" in p.title for p in parsed.plans)


def test_the_example_loads_into_the_demo_estate_and_routes_its_scenarios(
    session: Session,
) -> None:
    estate = seed_estate(session)
    parsed = rulefile.parse(EXAMPLE.read_text(encoding="utf-8"))

    report = loader.load(session, SYSTEM, parsed)

    assert report.created == len(parsed.rules)
    assert report.plans_created == len(parsed.plans)
    groups, users, cis = estate.groups, estate.users, estate.cis
    # Scenario 2: a township router → network, first/second responsible, the link plan.
    router = route(
        session, alert({"alertname": "DeviceUnreachable"}, Severity.CRITICAL), cis["rt-t01"]
    )
    assert router.rule_name == "township-router-down"
    assert router.assignment_group_id == groups["network"].id
    assert router.first_responsible_id == users["net.wang"].id
    assert router.second_responsible_id == users["net.zhao"].id
    assert router.contingency_plan == "township-link-down"
    assert router.impact is Level.HIGH  # telemedicine depends on every township router
    # Scenario 1: a village-clinic CPE → network.
    cpe = route(session, alert({"alertname": "DeviceUnreachable"}), cis["cpe-t01-05"])
    assert cpe.rule_name == "network-devices"
    assert cpe.assignment_group_id == groups["network"].id
    # Scenario 4: PACS filling up → systems with the PACS plan.
    pacs_labels = {
        "alertname": "NodeFilesystemSpaceFillingUp",
        "instance": "pacs-01:9100",
        "mountpoint": "/data",
    }
    pacs = route(session, alert(pacs_labels), cis["pacs-01"])
    assert (pacs.rule_name, pacs.contingency_plan) == ("pacs-storage", "pacs-storage-full")
    assert pacs.assignment_group_id == groups["systems"].id
    assert pacs.impact is Level.HIGH
    # Test systems page nobody, whatever else matches.
    assert route(session, alert({"env": "test"}), cis["rt-t01"]).assignment_group_id is None


def test_loading_twice_changes_nothing_and_export_round_trips(session: Session) -> None:
    seed_estate(session)
    loader.load(session, SYSTEM, rulefile.parse(EXAMPLE.read_text(encoding="utf-8")))
    before = [(r.id, service.columns(service.spec_of(r))) for r in service.list_rules(session)]

    again = loader.load(session, SYSTEM, rulefile.parse(EXAMPLE.read_text(encoding="utf-8")))
    exported = rulefile.dump(rulefile.export(session))
    third = loader.load(session, SYSTEM, rulefile.parse(exported))

    for report in (again, third):
        assert (report.created, report.updated, report.deleted) == (0, 0, 0)
        assert (report.plans_created, report.plans_updated, report.reordered) == (0, 0, False)
        assert report.unchanged == len(before)
    after = [(r.id, service.columns(service.spec_of(r))) for r in service.list_rules(session)]
    assert after == before
    assert "县数据中心 County data centre" in exported  # sites exported by name
    assert "net.wang" in exported


def test_load_upserts_by_name_and_follows_the_file_order(session: Session) -> None:
    make_group(session, "network")
    make_group(session, "systems")
    only_in_db = make_rule(session, "only-in-db")
    make_rule(session, "b")
    text = """
rules:
  - name: b
    route: {group: systems}
  - name: a
    route: {group: network}
"""
    report = loader.load(session, SYSTEM, rulefile.parse(text))

    assert (report.created, report.updated, report.unchanged) == (1, 1, 0)
    assert report.reordered
    assert [r.name for r in service.list_rules(session)] == ["b", "a", "only-in-db"]

    pruned = loader.load(session, SYSTEM, rulefile.parse(text), prune=True)
    assert pruned.deleted == 1
    assert service.find_rule(session, only_in_db.name) is None
    assert [r.name for r in service.list_rules(session)] == ["b", "a"]


def test_load_resolves_names_and_accepts_both_matcher_forms(session: Session) -> None:
    group = make_group(session, "network")
    first, second = make_user(session, "net.wang"), make_user(session, "net.zhao")
    site = make_ci(session, "site", "城关镇卫生院", attributes={"kind": "township_hospital"})
    text = """
plans:
  - {name: link-down, title: 链路中断预案, steps: "1. ping"}
rules:
  - name: township
    match:
      matchers:
        - 'alertname=~"Device(Down|Unreachable)"'
        - {label: env, op: "!=", value: test}
      severities: [critical]
      sites: [城关镇卫生院]
    route:
      group: network
      first_responsible: net.wang
      second_responsible: net.zhao
      urgency: from_severity
      min_impact: medium
      contingency_plan: link-down
      auto_resolve: true
"""
    loader.load(session, SYSTEM, rulefile.parse(text))

    (rule,) = service.list_rules(session)
    assert rule.matchers == [
        {"label": "alertname", "op": "=~", "value": "Device(Down|Unreachable)"},
        {"label": "env", "op": "!=", "value": "test"},
    ]
    assert rule.site_ids == [site.id]
    assert rule.assignment_group_id == group.id
    assert (rule.first_responsible_id, rule.second_responsible_id) == (first.id, second.id)
    assert rule.urgency is None
    assert rule.contingency_plan_id == plans.find_plan(session, "link-down").id  # type: ignore[union-attr]


def test_unknown_names_are_reported_by_rule_index_and_name(session: Session) -> None:
    make_group(session, "network")
    make_ci(session, "site", "twin")
    make_ci(session, "site", "twin")
    text = """
rules:
  - name: fine
    route: {group: network}
  - name: broken
    match: {sites: [nowhere], ci_classes: [toaster]}
    route: {group: netwrk, first_responsible: nobody, contingency_plan: missing}
  - name: ambiguous
    match: {sites: [twin]}
"""
    errors = _errors(text, session)

    assert errors["rules[1].route.group"] == ["rule 'broken': no group named 'netwrk'"]
    assert errors["rules[1].route.first_responsible"] == ["rule 'broken': no user named 'nobody'"]
    assert errors["rules[1].route.contingency_plan"] == [
        "rule 'broken': no contingency plan named 'missing'"
    ]
    assert errors["rules[1].match.sites"] == ["rule 'broken': no site named 'nowhere'"]
    assert "give the id" in errors["rules[2].match.sites"][0]
    assert not any(key.startswith("rules[0]") for key in errors)
    assert service.list_rules(session) == []  # nothing written


def test_unknown_ci_classes_are_reported(session: Session) -> None:
    errors = _errors("rules: [{name: r, match: {ci_classes: [toaster]}}]", session)
    assert "unknown CI class 'toaster'" in errors["rules[0].match.ci_classes"][0]


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        (
            "rules: [{name: r, match: {matchers: ['job=~\"(\"']}}]",
            "rules[0].match.matchers[0]",
            "compile",
        ),
        (
            "rules: [{name: r, match: {matchers: ['bad-label=\"x\"']}}]",
            "rules[0].match.matchers[0]",
            "not a matcher",
        ),
        (
            "rules: [{name: r, match: {severities: [urgent]}}]",
            "rules[0].match.severities[0]",
            "critical",
        ),
        ("rules: [{name: r, route: {urgency: soon}}]", "rules[0].route.urgency", "from_severity"),
        ("rules: [{name: r, match: {sites: [{x: 1}]}}]", "rules[0].match.sites[0]", "its name"),
        ("rules: [{name: r, route: {colour: red}}]", "rules[0].route.colour", "Extra inputs"),
        ("rules: [{name: r}, {name: r}]", "rules[1].name", "more than once"),
        ("rules: [{name: ''}]", "rules[0].name", ""),
        ("version: 2", "version", ""),
        ("rules: {name: r}", "rules", "list"),
        ("- just\n- a list", "file", ""),
        ("rules: [\n", "file", "not valid YAML"),
    ],
)
def test_malformed_files_are_refused_with_the_place_of_the_error(
    text: str, key: str, fragment: str
) -> None:
    errors = _errors(text)
    assert key in errors, errors
    assert fragment in " ".join(errors[key])


def test_field_errors_name_the_rule() -> None:
    errors = _errors("rules: [{name: township, route: {urgency: soon}}]")
    assert errors["rules[0].route.urgency"][0].startswith("rule 'township': ")


def test_an_empty_file_loads_nothing(session: Session) -> None:
    report = loader.load(session, SYSTEM, rulefile.parse(""))
    assert report.created == report.plans_created == 0
