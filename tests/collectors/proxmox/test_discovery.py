"""Proxmox polls through discovery into the CMDB (fakepve over HTTPS, SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.demo.fakepve_runner import TlsFiles
from collectors.discovery import DiscoveryReport, apply_discovery
from collectors.proxmox import ProxmoxTarget, poll_proxmox
from itsm_core.actor import SYSTEM
from itsm_core.audit.models import AuditEntry
from itsm_core.cmdb.choices import Lifecycle
from itsm_core.cmdb.models import CIHistory, CIRelationship, ConfigurationItem
from itsm_core.cmdb.service import find_by_external_id
from tests.peers.proxmox import PvePeer, running_fakepve, two_node_cluster


def discover(session: Session, target: ProxmoxTarget) -> DiscoveryReport:
    report = apply_discovery(session, SYSTEM, asyncio.run(poll_proxmox(target)))
    session.flush()
    return report


def the(session: Session, external_id: str) -> ConfigurationItem:
    found = find_by_external_id(session, "proxmox", external_id)
    assert found is not None, external_id
    return found


def node_of(session: Session, vm: ConfigurationItem) -> list[str]:
    rels = session.scalars(
        select(CIRelationship).where(
            CIRelationship.source_id == vm.id, CIRelationship.relation == "runs_on"
        )
    )
    return [session.get_one(ConfigurationItem, rel.target_id).name for rel in rels]


def rows(session: Session) -> tuple[int, int]:
    return (
        session.scalar(select(func.count()).select_from(CIHistory)) or 0,
        session.scalar(select(func.count()).select_from(AuditEntry)) or 0,
    )


def test_a_poll_discovers_nodes_and_vms_bound_by_node_and_vmid(
    session: Session, pve_peer: PvePeer
) -> None:
    report = discover(session, pve_peer.target())

    assert len(report.created) == 8
    assert report.relations_created == 6
    db = the(session, "pve-test/vm/102")
    assert (db.name, db.ci_class, db.source) == ("his-db-01", "vm", "proxmox")
    assert (db.attributes["node"], db.attributes["vmid"]) == ("pve2", 102)
    assert node_of(session, db) == ["pve2"]
    pve1 = the(session, "pve-test/node/pve1")
    assert pve1.attributes["cluster"] == "pve-test"
    assert pve1.attributes["memory_mb"] == 8192

    before = rows(session)
    again = discover(session, pve_peer.target())
    assert (again.created, again.updated, again.unchanged) == ([], [], 8)
    assert rows(session) == before  # nothing changed: no history, no audit


def test_a_deleted_vm_is_marked_missing_and_a_recreated_one_comes_back(
    session: Session, pve_peer: PvePeer
) -> None:
    discover(session, pve_peer.target())
    pve_peer.delete_guest(104)

    gone = discover(session, pve_peer.target())

    old = the(session, "pve-test/vm/104")
    assert gone.missing == [old.id]
    assert old.lifecycle == Lifecycle.MISSING
    assert node_of(session, old) == ["pve2"]  # kept as it was last seen
    assert the(session, "pve-test/vm/101").lifecycle == Lifecycle.ACTIVE

    pve_peer.server.apply(lambda pve: pve.add_vm(104, "old-test", node="pve1"))
    back = discover(session, pve_peer.target())
    assert back.reappeared == [old.id]
    assert the(session, "pve-test/vm/104").lifecycle == Lifecycle.ACTIVE
    assert node_of(session, old) == ["pve1"]


def test_a_migration_moves_the_runs_on_edge(session: Session, pve_peer: PvePeer) -> None:
    discover(session, pve_peer.target())
    pve_peer.migrate_guest(101, "pve2")

    discover(session, pve_peer.target())

    vm = the(session, "pve-test/vm/101")
    assert vm.attributes["node"] == "pve2"
    assert node_of(session, vm) == ["pve2"]


def test_two_clusters_do_not_mark_each_other_missing(
    session: Session, pve_peer: PvePeer, pve_tls: TlsFiles
) -> None:
    with running_fakepve(pve_tls, two_node_cluster("pve-dr", first_vmid=201)) as dr:
        discover(session, pve_peer.target())
        discover(session, dr.target())
        dr.delete_guest(201)

        test_cluster = discover(session, pve_peer.target())
        dr_cluster = discover(session, dr.target())

    assert test_cluster.missing == []
    assert dr_cluster.missing == [the(session, "pve-dr/vm/201").id]
    assert the(session, "pve-test/vm/101").lifecycle == Lifecycle.ACTIVE
    assert the(session, "pve-dr/node/pve1").name == "pve1"
