"""The compiled rule set is cached per process and invalidated by the generation token."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import delete, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from alerting.routing import plans, ruleset, service
from alerting.routing.engine import route
from alerting.routing.models import RoutingGeneration, RoutingRule
from alerting.routing.schemas import PlanPatch, RulePatch
from itsm_core.actor import SYSTEM
from tests.alerting.routing.factories import alert, make_plan, make_rule


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def on_execute(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)


def _rules_read(seen: list[str]) -> int:
    return sum("FROM routing_rules" in s for s in seen)


def test_an_edit_committed_elsewhere_is_seen_by_the_next_transaction(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as admin, admin.begin():
        rule = make_rule(admin, "snmp", matchers=[{"label": "job", "value": "snmp"}])
        rule_id = rule.id
    with sessions() as reader:
        with reader.begin():
            assert route(reader, alert({"job": "snmp"}), None).rule_id == rule_id
        with sessions() as admin, admin.begin():
            service.update_rule(
                admin,
                SYSTEM,
                service.get_rule(admin, rule_id),
                RulePatch.model_validate({"matchers": [{"label": "job", "value": "node"}]}),
            )
        with reader.begin():
            assert route(reader, alert({"job": "snmp"}), None).rule_id is None
            assert route(reader, alert({"job": "node"}), None).rule_id == rule_id


def test_routing_reads_the_rules_once_then_only_the_token_per_transaction(
    sessions: sessionmaker[Session], engine: Engine
) -> None:
    with sessions() as admin, admin.begin():
        for i in range(20):
            make_rule(admin, f"r{i}", matchers=[{"label": "n", "value": str(i)}])
    with sessions() as reader:
        with reader.begin():
            route(reader, alert({"n": "0"}), None)  # warm the cache
        with statements(engine) as seen, reader.begin():
            decisions = [route(reader, alert({"n": str(i % 25)}), None) for i in range(500)]
        assert [d.rule_name for d in decisions[:3]] == ["r0", "r1", "r2"]
        assert decisions[21].rule_id is None
        # One primary-key read of the generation token for 500 alerts; no rule reads.
        assert _rules_read(seen) == 0
        assert sum("routing_generation" in s for s in seen) == 1
        assert len([s for s in seen if s.lstrip().upper().startswith("SELECT")]) == 1


def test_an_unchanged_rule_set_is_not_recompiled(sessions: sessionmaker[Session]) -> None:
    with sessions() as admin, admin.begin():
        make_rule(admin)
    with sessions() as reader:
        with reader.begin():
            first = ruleset.current(reader)
        with reader.begin():
            assert ruleset.current(reader) is first
        with sessions() as admin, admin.begin():
            make_rule(admin)
        with reader.begin():
            assert ruleset.current(reader) is not first
            assert len(ruleset.current(reader).rules) == 2


def test_an_edit_is_visible_in_its_own_transaction_and_gone_after_rollback(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as admin, admin.begin():
        kept = make_rule(admin, "kept").id
    with sessions() as session:
        with session.begin():
            assert route(session, alert(), None).rule_id == kept
            added = make_rule(session, "added", position=1)
            assert route(session, alert(), None).rule_id == added.id
            session.rollback()
        with session.begin():
            assert route(session, alert(), None).rule_id == kept


def test_a_token_cannot_repeat_after_the_tables_are_emptied(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session, session.begin():
        make_rule(session, "old", matchers=[{"label": "a", "value": "1"}])
    with sessions() as session, session.begin():
        assert route(session, alert({"a": "1"}), None).rule_name == "old"
    # As after a restore: rows gone without the service knowing, then new rules.
    with sessions() as session, session.begin():
        session.execute(delete(RoutingRule))
        session.execute(delete(RoutingGeneration))
    with sessions() as session, session.begin():
        assert route(session, alert({"a": "1"}), None).rule_id is None
        make_rule(session, "new", matchers=[{"label": "a", "value": "2"}])
    with sessions() as session, session.begin():
        assert route(session, alert({"a": "1"}), None).rule_id is None
        assert route(session, alert({"a": "2"}), None).rule_name == "new"


def test_renaming_a_plan_reaches_the_decision(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        plan = make_plan(session, "old-name")
        make_rule(session, contingency_plan_id=plan.id)
        plan_id = plan.id
    with sessions() as session, session.begin():
        assert route(session, alert(), None).contingency_plan == "old-name"
    with sessions() as session, session.begin():
        plans.update_plan(session, SYSTEM, plans.get_plan(session, plan_id), PlanPatch(name="new"))
    with sessions() as session, session.begin():
        assert route(session, alert(), None).contingency_plan == "new"
