"""CIs: creation, validation, change history, audit, lifecycle, discovery upsert."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from itsm_core.actor import SYSTEM, Actor
from itsm_core.audit.models import AuditEntry
from itsm_core.cmdb import service
from itsm_core.cmdb.choices import Criticality, Lifecycle
from itsm_core.cmdb.lifecycle import LIFECYCLE, check_move
from itsm_core.cmdb.models import CIHistory, ConfigurationItem
from itsm_core.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from itsm_core.people import service as people
from tests.itsm_core.cmdb.factories import make_ci

ALICE = Actor(name="alice", user_id=1)


def _history(session: Session, ci: ConfigurationItem) -> list[tuple[str, object, object]]:
    rows = session.scalars(select(CIHistory).where(CIHistory.ci_id == ci.id).order_by(CIHistory.id))
    return [(h.field, h.old, h.new) for h in rows]


def _actors(session: Session, ci: ConfigurationItem) -> list[tuple[str, str]]:
    rows = session.scalars(select(CIHistory).where(CIHistory.ci_id == ci.id))
    return [(h.field, h.actor) for h in rows]


def _actions(session: Session, entity_id: int) -> list[str]:
    stmt = select(AuditEntry.action).where(
        AuditEntry.entity_type == "ci", AuditEntry.entity_id == str(entity_id)
    )
    return list(session.scalars(stmt.order_by(AuditEntry.id)))


def test_create_applies_defaults_and_records_history_and_audit(session: Session) -> None:
    ci = service.create_ci(
        session, ALICE, {"class": "vm", "name": " his-db-01 ", "attributes": {"vcpus": "8"}}
    )
    assert ci.name == "his-db-01"
    assert ci.criticality == Criticality.NORMAL
    assert ci.lifecycle == Lifecycle.ACTIVE
    assert ci.source == "manual"
    assert ci.attributes == {"vcpus": 8}
    ((field, old, new),) = _history(session, ci)
    assert field == "created"
    assert old is None
    assert new["attributes"] == {"vcpus": 8}
    assert _actions(session, ci.id) == ["ci.create"]


def test_unknown_class_and_unknown_attribute_are_refused_by_field(session: Session) -> None:
    with pytest.raises(ValidationFailed) as unknown_class:
        service.create_ci(session, SYSTEM, {"class": "toaster", "name": "t"})
    assert "class" in unknown_class.value.errors
    with pytest.raises(ValidationFailed) as unknown_attr:
        service.create_ci(
            session, SYSTEM, {"class": "vm", "name": "v", "attributes": {"community": "x"}}
        )
    assert unknown_attr.value.errors == {"attributes.community": ["unknown attribute"]}


def test_bad_common_fields_are_keyed_by_field(session: Session) -> None:
    with pytest.raises(ValidationFailed) as caught:
        service.create_ci(
            session,
            SYSTEM,
            {"class": "vm", "name": "", "criticality": "urgent", "management_address": "no way"},
        )
    assert set(caught.value.errors) == {"name", "criticality", "management_address"}


def test_site_must_be_a_site_and_group_must_exist(session: Session) -> None:
    vm = make_ci(session, "vm")
    with pytest.raises(ValidationFailed) as not_a_site:
        make_ci(session, "vm", site_id=vm.id)
    assert "site_id" in not_a_site.value.errors
    with pytest.raises(ValidationFailed) as no_group:
        make_ci(session, "vm", owner_group_id=4242)
    assert "owner_group_id" in no_group.value.errors
    site = make_ci(session, "site", "dc")
    group = people.create_group(session, SYSTEM, "systems")
    placed = make_ci(session, "vm", site_id=site.id, owner_group_id=group.id)
    assert placed.site_id == site.id


def test_duplicate_source_and_external_id_is_a_conflict(session: Session) -> None:
    make_ci(session, "vm", source="proxmox", external_id="pve/qemu/101")
    with pytest.raises(Conflict) as caught:
        make_ci(session, "vm", source="proxmox", external_id="pve/qemu/101")
    assert "external_id" in caught.value.errors
    other_source = make_ci(session, "vm", source="import", external_id="pve/qemu/101")
    assert other_source.id


def test_update_records_one_history_row_per_changed_field(session: Session) -> None:
    ci = make_ci(session, "vm", "vm-a", attributes={"vcpus": 2, "os": "Debian 12"})
    changes = service.update_ci(
        session,
        ALICE,
        ci,
        {
            "name": "vm-b",
            "criticality": Criticality.HIGH,
            "tags": ["his"],
            "attributes": {"vcpus": 4, "os": None, "memory_mb": 8192},
        },
    )
    assert sorted(c.field for c in changes) == [
        "attributes.memory_mb",
        "attributes.os",
        "attributes.vcpus",
        "criticality",
        "name",
        "tags",
    ]
    assert ci.attributes == {"vcpus": 4, "memory_mb": 8192}
    history = _history(session, ci)[1:]
    assert ("name", "vm-a", "vm-b") in history
    assert ("criticality", "normal", "high") in history
    assert ("attributes.os", "Debian 12", None) in history
    assert ("tags", [], ["his"]) in history
    assert {actor for _, actor in _actors(session, ci)} == {"system", "alice"}
    assert _actions(session, ci.id) == ["ci.create", "ci.update"]


def test_an_update_that_changes_nothing_writes_nothing(session: Session) -> None:
    ci = make_ci(session, "vm", "same", attributes={"vcpus": 2})
    unchanged = {"name": "same", "attributes": {"vcpus": 2}}
    assert service.update_ci(session, SYSTEM, ci, unchanged) == []
    assert len(_history(session, ci)) == 1
    assert _actions(session, ci.id) == ["ci.create"]


def test_bad_attribute_on_update_leaves_the_error_keyed(session: Session) -> None:
    ci = make_ci(session, "interface")
    with pytest.raises(ValidationFailed) as caught:
        service.update_ci(session, SYSTEM, ci, {"attributes": {"mac": "zz:zz"}})
    assert list(caught.value.errors) == ["attributes.mac"]


@pytest.mark.parametrize("current", list(Lifecycle))
@pytest.mark.parametrize("target", list(Lifecycle))
def test_every_lifecycle_move_is_allowed_or_refused_as_declared(
    current: Lifecycle, target: Lifecycle
) -> None:
    allowed = current == target or (current, target) in LIFECYCLE.edges()
    if allowed:
        check_move(current, target)
    else:
        with pytest.raises(InvalidTransition) as caught:
            check_move(current, target)
        assert "lifecycle" in caught.value.errors


def test_lifecycle_edges_are_the_documented_ones() -> None:
    L = Lifecycle
    assert set(LIFECYCLE.edges()) == {
        (L.PLANNED, L.ACTIVE),
        (L.MAINTENANCE, L.ACTIVE),
        (L.MISSING, L.ACTIVE),
        (L.RETIRED, L.ACTIVE),
        (L.ACTIVE, L.MAINTENANCE),
        (L.MISSING, L.MAINTENANCE),
        (L.ACTIVE, L.MISSING),
        (L.MAINTENANCE, L.MISSING),
        (L.PLANNED, L.RETIRED),
        (L.ACTIVE, L.RETIRED),
        (L.MAINTENANCE, L.RETIRED),
        (L.MISSING, L.RETIRED),
    }


def test_retire_keeps_the_ci_and_says_so_in_history_and_audit(session: Session) -> None:
    ci = make_ci(session, "vm")
    service.retire_ci(session, ALICE, ci)
    assert session.get(ConfigurationItem, ci.id) is ci
    assert ci.lifecycle == Lifecycle.RETIRED
    assert _history(session, ci)[-1] == ("lifecycle", "active", "retired")
    assert _actions(session, ci.id) == ["ci.create", "ci.retire"]
    assert service.retire_ci(session, ALICE, ci) == []


def test_mark_missing_only_for_cis_in_service(session: Session) -> None:
    active = make_ci(session, "vm")
    planned = make_ci(session, "vm", lifecycle="planned")
    assert service.mark_missing(session, SYSTEM, active) is True
    assert active.lifecycle == Lifecycle.MISSING
    assert service.mark_missing(session, SYSTEM, active) is False
    assert service.mark_missing(session, SYSTEM, planned) is False
    assert _actions(session, active.id) == ["ci.create", "ci.missing"]


def test_mark_unseen_missing_sweeps_one_source_and_its_classes(session: Session) -> None:
    seen = make_ci(session, "vm", source="proxmox", external_id="101")
    gone = make_ci(session, "vm", source="proxmox", external_id="102")
    node = make_ci(session, "hypervisor_node", source="proxmox", external_id="pve-1")
    other = make_ci(session, "vm", source="snmp", external_id="103")
    lost = service.mark_unseen_missing(session, SYSTEM, "proxmox", {"101"}, ci_classes={"vm"})
    assert lost == [gone]
    assert [seen.lifecycle, node.lifecycle, other.lifecycle] == [Lifecycle.ACTIVE] * 3


def test_upsert_creates_then_updates_only_what_changed(session: Session) -> None:
    data = {"class": "vm", "name": "his-app", "attributes": {"vmid": 101, "vcpus": 4}}
    first = service.upsert_ci(session, SYSTEM, "proxmox", "pve/101", data)
    assert first.created is True
    assert first.ci.last_seen_at is not None
    again = service.upsert_ci(session, SYSTEM, "proxmox", "pve/101", data)
    assert again.created is False
    assert again.changes == []
    assert again.ci is first.ci
    assert len(_history(session, first.ci)) == 1
    grown = {**data, "attributes": {"vcpus": 8}}
    changed = service.upsert_ci(session, SYSTEM, "proxmox", "pve/101", grown)
    assert [(c.field, c.old, c.new) for c in changed.changes] == [("attributes.vcpus", 4, 8)]
    assert first.ci.attributes == {"vmid": 101, "vcpus": 8}
    assert _actions(session, first.ci.id) == ["ci.create", "ci.discover"]


def test_upsert_keeps_what_people_added(session: Session) -> None:
    result = service.upsert_ci(session, SYSTEM, "proxmox", "101", {"class": "vm", "name": "a"})
    service.update_ci(
        session,
        ALICE,
        result.ci,
        {"criticality": Criticality.CLINICAL_CRITICAL, "attributes": {"os": "Windows"}},
    )
    service.upsert_ci(
        session, SYSTEM, "proxmox", "101", {"class": "vm", "name": "a", "attributes": {"vcpus": 2}}
    )
    assert result.ci.criticality == Criticality.CLINICAL_CRITICAL
    assert result.ci.attributes == {"os": "Windows", "vcpus": 2}


def test_upsert_revives_a_missing_ci_but_not_a_retired_one(session: Session) -> None:
    data = {"class": "vm", "name": "a"}
    missing = service.upsert_ci(session, SYSTEM, "proxmox", "1", data).ci
    retired = service.upsert_ci(session, SYSTEM, "proxmox", "2", {**data, "name": "b"}).ci
    service.mark_missing(session, SYSTEM, missing)
    service.retire_ci(session, SYSTEM, retired)
    service.upsert_ci(session, SYSTEM, "proxmox", "1", data)
    service.upsert_ci(session, SYSTEM, "proxmox", "2", {**data, "name": "b"})
    assert missing.lifecycle == Lifecycle.ACTIVE
    assert retired.lifecycle == Lifecycle.RETIRED


def test_upsert_refuses_a_class_change_and_bad_identity(session: Session) -> None:
    service.upsert_ci(session, SYSTEM, "snmp", "10.0.0.1", {"class": "network_device", "name": "r"})
    with pytest.raises(Conflict) as caught:
        service.upsert_ci(session, SYSTEM, "snmp", "10.0.0.1", {"class": "vm", "name": "r"})
    assert "class" in caught.value.errors
    with pytest.raises(ValidationFailed) as bad_source:
        service.upsert_ci(session, SYSTEM, "Not A Source!", "x", {"class": "vm", "name": "r"})
    assert "source" in bad_source.value.errors


def test_get_ci_of_an_unknown_id_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound):
        service.get_ci(session, 123456)
