"""Impact analysis: direction of each relation, depth, cycles, paths, queries, redundancy."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from itsm_core.actor import SYSTEM
from itsm_core.cmdb import impact as impact_mod
from itsm_core.cmdb import service
from itsm_core.cmdb.choices import Criticality, Direction, RelationType
from itsm_core.cmdb.impact import Reached, impact, impact_of_cis
from itsm_core.errors import NotFound, ValidationFailed
from tests.itsm_core.cmdb.factories import chain, link, make_ci


def _names(nodes: list[Reached]) -> list[str]:
    return [n.name for n in nodes]


@contextmanager
def count_selects(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def on_execute(*args: Any) -> None:
        statement = args[2]
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)


def test_depth_limits_the_walk_and_depth_is_counted_in_edges(session: Session) -> None:
    cis = chain(session, 8)
    result = impact(session, cis[0].id, Direction.DOWNSTREAM, depth=3)
    assert _names(result.downstream) == ["c1", "c2", "c3"]
    assert [n.depth for n in result.downstream] == [1, 2, 3]


def test_path_leads_from_the_start_with_each_relation(session: Session) -> None:
    cis = chain(session, 5)
    result = impact(session, cis[0].id, Direction.DOWNSTREAM, depth=6)
    last = result.downstream[-1]
    assert _names(last.path) == ["c0", "c1", "c2", "c3", "c4"]
    assert [s.relation for s in last.path] == [None, *[RelationType.DEPENDS_ON] * 4]
    assert last.sentence() == "c4 depends_on c3"


def test_upstream_walks_towards_dependencies(session: Session) -> None:
    cis = chain(session, 4)
    result = impact(session, cis[3].id, Direction.UPSTREAM, depth=10)
    assert _names(result.upstream) == ["c2", "c1", "c0"]
    assert result.downstream == []


def test_both_directions(session: Session) -> None:
    cis = chain(session, 5)
    result = impact(session, cis[2].id, Direction.BOTH, depth=10)
    assert _names(result.downstream) == ["c3", "c4"]
    assert _names(result.upstream) == ["c1", "c0"]


def test_cycles_terminate_and_each_ci_is_reached_once(session: Session) -> None:
    a, b, c = (make_ci(session, "application", n) for n in "abc")
    link(session, b, "depends_on", a)
    link(session, c, "depends_on", b)
    link(session, a, "depends_on", c)
    link(session, a, "depends_on", b)  # a 2-cycle as well
    result = impact(session, a.id, Direction.BOTH, depth=10)
    assert _names(result.downstream) == ["b", "c"]
    assert _names(result.upstream) == ["b", "c"]


def test_shortest_path_wins_in_a_diamond(session: Session) -> None:
    root, left, right, deep, leaf = (
        make_ci(session, "application", n) for n in ("root", "left", "right", "deep", "leaf")
    )
    link(session, left, "depends_on", root)
    link(session, right, "depends_on", root)
    link(session, deep, "depends_on", right)
    link(session, leaf, "depends_on", deep)
    link(session, leaf, "depends_on", left)
    (reached,) = (n for n in impact(session, root.id).downstream if n.name == "leaf")
    assert reached.depth == 2
    assert _names(reached.path) == ["root", "left", "leaf"]


@pytest.mark.parametrize(
    ("dependent_class", "relation", "dependency_class", "source_is_dependent"),
    [
        ("vm", "runs_on", "hypervisor_node", True),
        ("application", "depends_on", "database", True),
        ("interface", "part_of", "network_device", True),
        ("network_device", "connected_to", "network_device", True),
        ("vm", "hosts", "hypervisor_node", False),
    ],
)
def test_dependency_direction_of_each_relation(
    session: Session,
    dependent_class: str,
    relation: str,
    dependency_class: str,
    source_is_dependent: bool,
) -> None:
    dependent = make_ci(session, dependent_class, "dependent")
    dependency = make_ci(session, dependency_class, "dependency")
    if source_is_dependent:
        link(session, dependent, relation, dependency)
    else:
        link(session, dependency, relation, dependent)
    assert _names(impact(session, dependency.id, Direction.DOWNSTREAM).downstream) == ["dependent"]
    assert _names(impact(session, dependent.id, Direction.UPSTREAM).upstream) == ["dependency"]
    assert impact(session, dependent.id, Direction.DOWNSTREAM).downstream == []


def test_hosts_path_sentence_keeps_the_stored_orientation(session: Session) -> None:
    node = make_ci(session, "hypervisor_node", "pve-01")
    vm = make_ci(session, "vm", "his-db")
    link(session, node, "hosts", vm)
    (reached,) = impact(session, node.id).downstream
    assert reached.sentence() == "pve-01 hosts his-db"
    (up,) = impact(session, vm.id, Direction.UPSTREAM).upstream
    assert up.sentence() == "pve-01 hosts his-db"


def test_retired_cis_are_not_walked_through(session: Session) -> None:
    cis = chain(session, 4)
    service.retire_ci(session, SYSTEM, cis[2])
    assert _names(impact(session, cis[0].id).downstream) == ["c1"]


def test_one_query_per_level(session: Session, engine: Engine) -> None:
    # A tree: 1 root, 5 children, 25 grandchildren, 125 great-grandchildren.
    root = make_ci(session, "application", "root")
    level = [root]
    for _ in range(3):
        nxt = []
        for parent in level:
            for _ in range(5):
                child = make_ci(session, "application")
                link(session, child, "depends_on", parent)
                nxt.append(child)
        level = nxt
    session.flush()
    with count_selects(engine) as statements:
        result = impact(session, root.id, Direction.DOWNSTREAM, depth=6)
    assert len(result.downstream) == 5 + 25 + 125
    # One to load the start, one per level; the leaves are known as such: no 4th level.
    assert len(statements) == 1 + 3


def test_a_wide_level_is_still_one_query(session: Session, engine: Engine) -> None:
    hub = make_ci(session, "network_device", "hub")
    for _ in range(300):
        spoke = make_ci(session, "network_device")
        link(session, spoke, "connected_to", hub)
        link(session, make_ci(session, "interface"), "part_of", spoke)
    with count_selects(engine) as statements:
        assert len(impact(session, hub.id, depth=2).downstream) == 600
    assert len(statements) == 1 + 2


def test_redundancy_costs_one_query_per_walk_not_per_level(
    session: Session, engine: Engine
) -> None:
    _svc, gw1, *_ = _redundant_pair(session)
    session.flush()
    with count_selects(engine) as statements:
        result = impact(session, gw1.id, Direction.DOWNSTREAM, depth=6)
    assert [n.name for n in result.downstream] == ["telemedicine"]
    # The start, level 1 (which meets the redundant edge), the redundancy groups.
    assert len(statements) == 1 + 1 + 1


def test_depth_zero_reaches_nothing_and_too_deep_is_refused(session: Session) -> None:
    cis = chain(session, 2)
    assert impact(session, cis[0].id, depth=0).downstream == []
    with pytest.raises(ValidationFailed):
        impact(session, cis[0].id, depth=impact_mod.MAX_DEPTH + 1)


def test_unknown_ci_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound):
        impact(session, 999_999)


def test_township_router_takes_its_clinics_down(session: Session) -> None:
    """Scenario 2: the router fails, the 30 CPEs behind it and their sites go dark."""
    core = make_ci(session, "network_device", "core-sw")
    router = make_ci(session, "network_device", "township-router", criticality="high")
    link(session, router, "connected_to", core)
    telemed = make_ci(
        session, "business_service", "village telemedicine", criticality="clinical_critical"
    )
    sites = []
    for i in range(30):
        site = make_ci(session, "site", f"clinic-{i:02d}", attributes={"kind": "village_clinic"})
        sites.append(site.id)
        cpe = make_ci(session, "network_device", f"cpe-{i:02d}", site_id=site.id)
        link(session, cpe, "connected_to", router)
        link(session, telemed, "depends_on", cpe)
    summary = impact_of_cis(session, [router.id], depth=6)
    assert summary.site_ids == sorted(sites)
    assert len(summary.impacted) == 31
    assert _names(summary.business_services) == ["village telemedicine"]
    assert summary.highest_criticality == Criticality.CLINICAL_CRITICAL
    assert summary.clinical_critical


def test_impact_of_cis_counts_the_starting_cis_and_ignores_unknown_ids(
    session: Session,
) -> None:
    svc = make_ci(session, "business_service", "EMR", criticality="high")
    app = make_ci(session, "application", "emr-app", criticality="low")
    link(session, svc, "depends_on", app)
    summary = impact_of_cis(session, [svc.id, 999_999])
    assert summary.ci_ids == [svc.id]
    assert _names(summary.business_services) == ["EMR"]
    assert summary.highest_criticality == Criticality.HIGH
    assert impact_of_cis(session, []).highest_criticality is None


def _redundant_pair(session: Session) -> tuple[Any, ...]:
    """A clinical service behind two redundant gateway VMs, each on its own node."""
    svc = make_ci(session, "business_service", "telemedicine", criticality="clinical_critical")
    gw1 = make_ci(session, "vm", "gw-1", criticality="normal")
    gw2 = make_ci(session, "vm", "gw-2", criticality="normal")
    node1 = make_ci(session, "hypervisor_node", "node-1")
    node2 = make_ci(session, "hypervisor_node", "node-2")
    link(session, svc, "depends_on", gw1, redundant=True)
    link(session, svc, "depends_on", gw2, redundant=True)
    link(session, node1, "hosts", gw1)
    link(session, gw2, "runs_on", node2)
    return svc, gw1, gw2, node1, node2


def test_losing_one_redundant_provider_only_degrades(session: Session) -> None:
    """Scenario 5: the gateway VM's failover peer carries the clinical service."""
    _svc, gw1, *_ = _redundant_pair(session)
    summary = impact_of_cis(session, [gw1.id])
    assert summary.business_services == []
    assert _names(summary.degraded_business_services) == ["telemedicine"]
    assert summary.highest_criticality == Criticality.NORMAL
    single = impact(session, gw1.id)
    assert single.business_services == []
    assert _names(single.degraded_business_services) == ["telemedicine"]


def test_losing_every_redundant_provider_takes_the_service_down(session: Session) -> None:
    _svc, gw1, gw2, node1, node2 = _redundant_pair(session)
    both_vms = impact_of_cis(session, [gw1.id, gw2.id])
    assert _names(both_vms.business_services) == ["telemedicine"]
    assert both_vms.clinical_critical
    both_nodes = impact_of_cis(session, [node1.id, node2.id])
    assert _names(both_nodes.business_services) == ["telemedicine"]
    assert impact_of_cis(session, [node1.id]).business_services == []


def test_a_retired_redundant_peer_no_longer_covers(session: Session) -> None:
    _svc, gw1, gw2, *_ = _redundant_pair(session)
    service.retire_ci(session, SYSTEM, gw2)
    assert _names(impact_of_cis(session, [gw1.id]).business_services) == ["telemedicine"]


def test_degraded_is_upgraded_when_a_hard_path_arrives_later(session: Session) -> None:
    a = make_ci(session, "application", "a")
    b = make_ci(session, "application", "b")
    x = make_ci(session, "application", "x")
    y = make_ci(session, "application", "y")
    svc = make_ci(session, "business_service", "svc")
    link(session, svc, "depends_on", a, redundant=True)
    link(session, svc, "depends_on", b, redundant=True)
    link(session, x, "depends_on", a)
    link(session, y, "depends_on", x)
    link(session, svc, "depends_on", y)
    (reached,) = (n for n in impact(session, a.id).downstream if n.name == "svc")
    assert reached.degraded is False
    assert reached.depth == 3
    assert _names(reached.path) == ["a", "x", "y", "svc"]


def test_upstream_ignores_redundancy(session: Session) -> None:
    svc, *_ = _redundant_pair(session)
    result = impact(session, svc.id, Direction.UPSTREAM)
    assert _names(result.upstream) == ["gw-1", "gw-2", "node-1", "node-2"]
    assert not any(n.degraded for n in result.upstream)
