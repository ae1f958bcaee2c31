"""apply_discovery: upserts, relations, the missing sweep, and no churn when nothing changed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from collectors.discovery import apply_discovery
from collectors.result import DiscoveredCI, DiscoveredRelation, PollResult
from collectors.samples import CIRef
from itsm_core.actor import SYSTEM
from itsm_core.audit.models import AuditEntry
from itsm_core.cmdb import service
from itsm_core.cmdb.choices import Lifecycle, RelationType
from itsm_core.cmdb.models import CIHistory, CIRelationship, ConfigurationItem
from itsm_core.cmdb.relationships import create_relationship

SRC = "proxmox"


def node(cluster: str, name: str, **attributes: Any) -> DiscoveredCI:
    attrs = {"cluster": cluster, "platform": "proxmox-ve", **attributes}
    return DiscoveredCI(CIRef(SRC, f"{cluster}/node/{name}"), "hypervisor_node", name, attrs)


def vm(
    cluster: str, vmid: int, on: str, name: str | None = None, **attributes: Any
) -> DiscoveredCI:
    attrs = {"node": on, "vmid": vmid, "vm_type": "qemu", **attributes}
    return DiscoveredCI(CIRef(SRC, f"{cluster}/vm/{vmid}"), "vm", name or f"vm-{vmid}", attrs)


def estate(
    cluster: str = "c1", vms: dict[int, str] | None = None, **vm_attributes: Any
) -> PollResult:
    """A complete poll of ``cluster``: nodes n1, n2 and ``vms`` (vmid → node)."""
    placed = {101: "n1", 102: "n2", 103: "n1"} if vms is None else vms
    result = PollResult(
        target=f"https://{cluster}:8006",
        complete=frozenset({"hypervisor_node", "vm"}),
        scope=f"{cluster}/",
    )
    result.cis = [node(cluster, "n1"), node(cluster, "n2")]
    for vmid, on in placed.items():
        result.cis.append(vm(cluster, vmid, on, **vm_attributes))
        result.relations.append(
            DiscoveredRelation(
                "runs_on", CIRef(SRC, f"{cluster}/vm/{vmid}"), CIRef(SRC, f"{cluster}/node/{on}")
            )
        )
    return result


def ci(session: Session, external_id: str) -> ConfigurationItem:
    found = service.find_by_external_id(session, SRC, external_id)
    assert found is not None, external_id
    return found


def count(session: Session, model: type[Any]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def hosts_of(session: Session, external_id: str) -> list[str]:
    """Names of the nodes a VM runs on."""
    source = ci(session, external_id)
    rels = session.scalars(
        select(CIRelationship).where(
            CIRelationship.source_id == source.id, CIRelationship.relation == "runs_on"
        )
    )
    return sorted(session.get_one(ConfigurationItem, r.target_id).name for r in rels)


def test_first_run_creates_cis_and_relations(session: Session) -> None:
    report = apply_discovery(session, SYSTEM, estate())

    assert len(report.created) == 5
    assert report.relations_created == 3
    assert report.failures == []
    assert report.missing == []
    vm101 = ci(session, "c1/vm/101")
    assert (vm101.ci_class, vm101.lifecycle) == ("vm", Lifecycle.ACTIVE)
    assert vm101.attributes == {"node": "n1", "vmid": 101, "vm_type": "qemu"}
    assert vm101.last_seen_at is not None
    assert hosts_of(session, "c1/vm/102") == ["n2"]


def test_a_second_run_with_nothing_new_writes_no_history_and_no_audit(session: Session) -> None:
    apply_discovery(session, SYSTEM, estate())
    session.flush()
    history, audit = count(session, CIHistory), count(session, AuditEntry)
    seen_before = ci(session, "c1/vm/101").last_seen_at
    updated_before = ci(session, "c1/vm/101").updated_at

    report = apply_discovery(session, SYSTEM, estate())

    assert (report.created, report.updated, report.unchanged) == ([], [], 5)
    assert report.relations_created == 0
    assert not report.changed
    assert (count(session, CIHistory), count(session, AuditEntry)) == (history, audit)
    session.expire_all()
    again = ci(session, "c1/vm/101")
    assert seen_before is not None
    assert again.last_seen_at is not None
    assert again.last_seen_at >= seen_before
    assert again.updated_at == updated_before


def test_a_changed_attribute_is_updated_with_history_and_hand_edits_survive(
    session: Session,
) -> None:
    apply_discovery(session, SYSTEM, estate())
    by_hand = ci(session, "c1/vm/101")
    service.update_ci(session, SYSTEM, by_hand, {"attributes": {"hostname": "his-app-01"}})

    report = apply_discovery(session, SYSTEM, estate(vcpus=8))

    assert sorted(report.updated) == sorted(ci(session, f"c1/vm/{v}").id for v in (101, 102, 103))
    assert by_hand.attributes["vcpus"] == 8
    assert by_hand.attributes["hostname"] == "his-app-01"
    fields = session.scalars(
        select(CIHistory.field).where(CIHistory.ci_id == by_hand.id).order_by(CIHistory.id)
    ).all()
    assert fields[-1] == "attributes.vcpus"


def test_an_unseen_vm_is_marked_missing_not_deleted_and_comes_back(session: Session) -> None:
    apply_discovery(session, SYSTEM, estate())

    gone = apply_discovery(session, SYSTEM, estate(vms={101: "n1", 102: "n2"}))

    vm103 = ci(session, "c1/vm/103")
    assert gone.missing == [vm103.id]
    assert vm103.lifecycle == Lifecycle.MISSING
    assert ci(session, "c1/vm/101").lifecycle == Lifecycle.ACTIVE
    assert count(session, ConfigurationItem) == 5

    back = apply_discovery(session, SYSTEM, estate())
    assert back.reappeared == [vm103.id]
    assert ci(session, "c1/vm/103").lifecycle == Lifecycle.ACTIVE


def test_the_sweep_stays_within_the_scope_of_the_poll(session: Session) -> None:
    apply_discovery(session, SYSTEM, estate("c1"))
    apply_discovery(session, SYSTEM, estate("c2"))

    report = apply_discovery(session, SYSTEM, estate("c2", vms={101: "n1"}))

    assert sorted(report.missing) == sorted(ci(session, f"c2/vm/{v}").id for v in (102, 103))
    assert all(ci(session, f"c1/vm/{v}").lifecycle == Lifecycle.ACTIVE for v in (101, 102, 103))


def test_without_a_scope_the_sweep_covers_the_source_and_only_complete_classes(
    session: Session,
) -> None:
    apply_discovery(session, SYSTEM, estate("c1"))
    only_vms = estate("c2", vms={201: "n1"})
    only_vms.scope = None
    only_vms.complete = frozenset({"vm"})

    report = apply_discovery(session, SYSTEM, only_vms)

    assert sorted(report.missing) == sorted(ci(session, f"c1/vm/{v}").id for v in (101, 102, 103))
    assert ci(session, "c1/node/n1").lifecycle == Lifecycle.ACTIVE  # not a complete class


def test_an_empty_or_partial_result_marks_nothing(session: Session) -> None:
    apply_discovery(session, SYSTEM, estate())
    empty = PollResult(target="x", complete=frozenset({"vm", "hypervisor_node"}), scope="c1/")
    partial = estate(vms={101: "n1"})
    partial.complete = frozenset()

    assert apply_discovery(session, SYSTEM, empty).missing == []
    assert apply_discovery(session, SYSTEM, partial).missing == []
    assert ci(session, "c1/vm/103").lifecycle == Lifecycle.ACTIVE


def test_a_migrated_vm_runs_on_its_new_node_only(session: Session) -> None:
    apply_discovery(session, SYSTEM, estate())

    report = apply_discovery(session, SYSTEM, estate(vms={101: "n2", 102: "n2", 103: "n1"}))

    assert hosts_of(session, "c1/vm/101") == ["n2"]
    assert ci(session, "c1/vm/101").attributes["node"] == "n2"
    assert report.relations_created == 1
    assert report.updated == [ci(session, "c1/vm/101").id]


def test_an_existing_inverse_edge_counts_as_the_relation(session: Session) -> None:
    apply_discovery(session, SYSTEM, estate(vms={}))
    vm101 = service.upsert_ci(session, SYSTEM, SRC, "c1/vm/101", {"class": "vm", "name": "vm-101"})
    n1 = ci(session, "c1/node/n1")
    create_relationship(session, SYSTEM, n1, RelationType.HOSTS, vm101.ci)

    report = apply_discovery(session, SYSTEM, estate(vms={101: "n1"}))

    assert report.relations_created == 0
    assert report.failures == []
    assert count(session, CIRelationship) == 1


def test_refused_cis_and_dangling_relations_are_reported_and_the_rest_applied(
    session: Session,
) -> None:
    result = estate()
    result.cis.append(vm("c1", 104, "n1", vcpus=0))  # out of bounds
    result.relations.append(
        DiscoveredRelation("runs_on", CIRef(SRC, "c1/vm/101"), CIRef(SRC, "c1/node/ghost"))
    )

    report = apply_discovery(session, SYSTEM, result)

    assert len(report.created) == 5
    assert len(report.failures) == 2
    assert "c1/vm/104" in report.failures[0]
    assert "vcpus" in report.failures[0]
    assert "ghost" in report.failures[1]
    assert service.find_by_external_id(session, SRC, "c1/vm/104") is None
    assert hosts_of(session, "c1/vm/101") == ["n1"]


def test_a_class_clash_is_reported_and_the_ci_not_swept(session: Session) -> None:
    service.upsert_ci(session, SYSTEM, SRC, "c1/vm/103", {"class": "application", "name": "app"})
    report = apply_discovery(session, SYSTEM, estate())

    assert len(report.failures) == 1
    assert "c1/vm/103" in report.failures[0]
    assert "application" in report.failures[0]
    assert ci(session, "c1/vm/103").lifecycle == Lifecycle.ACTIVE
    assert hosts_of(session, "c1/vm/103") == []  # no edge from the clashing CI
    assert hosts_of(session, "c1/vm/101") == ["n1"]


def test_a_retired_vm_stays_retired_and_is_not_relinked(session: Session) -> None:
    apply_discovery(session, SYSTEM, estate())
    vm103 = ci(session, "c1/vm/103")
    for rel in session.scalars(select(CIRelationship).where(CIRelationship.source_id == vm103.id)):
        session.delete(rel)
    service.retire_ci(session, SYSTEM, vm103)

    report = apply_discovery(session, SYSTEM, estate())

    assert vm103.lifecycle == Lifecycle.RETIRED
    assert report.failures == []
    assert report.relations_created == 0
    assert hosts_of(session, "c1/vm/103") == []
