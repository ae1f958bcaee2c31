"""Relationships: the rules on each new edge, deletion, discovery's idempotent form."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from itsm_core.actor import SYSTEM
from itsm_core.audit.models import AuditEntry
from itsm_core.cmdb import relationships, service
from itsm_core.cmdb.choices import RelationshipSide, RelationType
from itsm_core.cmdb.models import CIHistory, CIRelationship
from itsm_core.errors import Conflict, NotFound, ValidationFailed
from tests.itsm_core.cmdb.factories import link, make_ci


def test_a_relationship_is_audited_and_on_both_histories(session: Session) -> None:
    vm = make_ci(session, "vm", "vm-1")
    node = make_ci(session, "hypervisor_node", "pve-01")
    rel = link(session, vm, "runs_on", node)
    for ci in (vm, node):
        (row,) = session.scalars(
            select(CIHistory).where(CIHistory.ci_id == ci.id, CIHistory.field == "relationship")
        )
        assert row.new["relation"] == "runs_on"
        assert row.new["source"] == "vm-1"
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.entity_type == "ci_relationship")
    )
    assert list(actions) == ["ci_relationship.create"]
    assert rel.redundant is False


def test_self_edges_are_refused(session: Session) -> None:
    app = make_ci(session, "application")
    with pytest.raises(ValidationFailed) as caught:
        link(session, app, "depends_on", app)
    assert "target_id" in caught.value.errors


@pytest.mark.parametrize(
    ("source", "relation", "target"),
    [
        ("vm", "runs_on", "hypervisor_node"),
        ("hypervisor_node", "hosts", "vm"),
        ("database", "runs_on", "vm"),
        ("interface", "part_of", "network_device"),
        ("network_device", "connected_to", "network_device"),
        ("interface", "connected_to", "interface"),
        ("hypervisor_node", "connected_to", "network_device"),
        ("business_service", "depends_on", "application"),
        ("application", "depends_on", "database"),
    ],
)
def test_sensible_class_pairs_are_allowed(
    session: Session, source: str, relation: str, target: str
) -> None:
    link(session, make_ci(session, source), relation, make_ci(session, target))


@pytest.mark.parametrize(
    ("source", "relation", "target"),
    [
        ("hypervisor_node", "runs_on", "vm"),
        ("vm", "runs_on", "database"),
        ("network_device", "part_of", "interface"),
        ("vm", "connected_to", "network_device"),
        ("vm", "hosts", "hypervisor_node"),
        ("vm", "depends_on", "site"),
        ("site", "part_of", "site"),
    ],
)
def test_nonsense_class_pairs_are_refused_on_relation(
    session: Session, source: str, relation: str, target: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        link(session, make_ci(session, source), relation, make_ci(session, target))
    assert "relation" in caught.value.errors


def test_duplicates_and_equivalent_inverses_are_conflicts(session: Session) -> None:
    vm = make_ci(session, "vm")
    node = make_ci(session, "hypervisor_node")
    link(session, vm, "runs_on", node)
    with pytest.raises(Conflict) as same:
        link(session, vm, "runs_on", node)
    assert "target_id" in same.value.errors
    with pytest.raises(Conflict):
        link(session, node, "hosts", vm)


def test_retired_cis_take_no_new_relationships(session: Session) -> None:
    app = make_ci(session, "application")
    db = make_ci(session, "database")
    service.retire_ci(session, SYSTEM, db)
    with pytest.raises(Conflict) as caught:
        link(session, app, "depends_on", db)
    assert "target_id" in caught.value.errors


def test_only_depends_on_and_connected_to_may_be_redundant(session: Session) -> None:
    vm = make_ci(session, "vm")
    node = make_ci(session, "hypervisor_node")
    with pytest.raises(ValidationFailed) as caught:
        link(session, vm, "runs_on", node, redundant=True)
    assert "redundant" in caught.value.errors
    assert link(session, vm, "depends_on", node, redundant=True).redundant is True


def test_delete_removes_the_edge_and_records_it(session: Session) -> None:
    app = make_ci(session, "application")
    db = make_ci(session, "database")
    rel = link(session, app, "depends_on", db)
    rel_id = rel.id
    relationships.delete_relationship(session, SYSTEM, rel)
    assert session.get(CIRelationship, rel_id) is None
    removed = session.scalars(
        select(CIHistory).where(CIHistory.field == "relationship", CIHistory.new.is_(None))
    ).all()
    assert len(removed) == 2
    with pytest.raises(NotFound):
        relationships.get_relationship(session, rel_id)


def test_ensure_relationship_is_idempotent_and_can_be_exclusive(session: Session) -> None:
    vm = make_ci(session, "vm")
    node1 = make_ci(session, "hypervisor_node", "pve-1")
    node2 = make_ci(session, "hypervisor_node", "pve-2")
    first, created = relationships.ensure_relationship(
        session, SYSTEM, vm, RelationType.RUNS_ON, node1
    )
    again, created_again = relationships.ensure_relationship(
        session, SYSTEM, vm, RelationType.RUNS_ON, node1
    )
    assert created is True
    assert created_again is False
    assert again is first
    # The VM migrated: it runs on pve-2 only.
    relationships.ensure_relationship(
        session, SYSTEM, vm, RelationType.RUNS_ON, node2, exclusive=True
    )
    targets = [n.target.name for n in relationships.relationships_of(session, vm.id)]
    assert targets == ["pve-2"]


def test_relationships_of_by_side_and_relation(session: Session) -> None:
    vm = make_ci(session, "vm", "vm")
    node = make_ci(session, "hypervisor_node", "node")
    app = make_ci(session, "application", "app")
    link(session, vm, "runs_on", node)
    link(session, app, "runs_on", vm)
    both = relationships.relationships_of(session, vm.id)
    assert [(n.source.name, n.target.name) for n in both] == [("app", "vm"), ("vm", "node")]
    out = relationships.relationships_of(session, vm.id, RelationshipSide.OUTGOING)
    assert [n.target.name for n in out] == ["node"]
    incoming = relationships.relationships_of(session, vm.id, RelationshipSide.INCOMING)
    assert [n.source.name for n in incoming] == ["app"]
    assert relationships.relationships_of(session, vm.id, relation=RelationType.HOSTS) == []
