"""Bulk import/export: all-or-nothing, row-numbered errors, idempotence, round trips."""

from __future__ import annotations

import textwrap

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from itsm_core.actor import SYSTEM
from itsm_core.cmdb import service
from itsm_core.cmdb.bulk import export_estate, import_estate
from itsm_core.cmdb.choices import BulkFormat, Criticality, Lifecycle, RelationType
from itsm_core.cmdb.impact import impact_of_cis
from itsm_core.cmdb.models import CIHistory, CIRelationship, ConfigurationItem
from itsm_core.errors import ValidationFailed
from itsm_core.people import service as people
from tests.itsm_core.cmdb.factories import link, make_ci

ESTATE_YAML = textwrap.dedent(
    """\
    version: 1
    cis:
      - class: network_device
        name: cpe-0001
        external_id: cpe-0001
        site: 李村卫生室
        attributes: {vendor: Huawei, model: AR161, role: cpe}
      - class: site
        name: 李村卫生室
        attributes: {kind: village_clinic}
      - class: network_device
        name: township-router-03
        owner_group: network
        criticality: high
        tags: [township, wan]
        management_address: 10.20.3.1
        attributes: {vendor: Huawei, sys_object_id: 1.3.6.1.4.1.2011.2.224.67}
      - class: business_service
        name: 远程会诊
        criticality: clinical_critical
        attributes: {clinical: true, service_hours: 24x7, departments: [急诊, 门诊]}
    relationships:
      - from: "ext:import:cpe-0001"
        relation: connected_to
        to: "network_device:township-router-03"
      - {from: "business_service:远程会诊", relation: depends_on, to: "network_device:cpe-0001"}
    """
)


@pytest.fixture(autouse=True)
def _network_group(session: Session) -> None:
    people.create_group(session, SYSTEM, "network")
    session.flush()


def _ci(session: Session, ci_class: str, name: str) -> ConfigurationItem:
    return session.scalars(
        select(ConfigurationItem).where(
            ConfigurationItem.ci_class == ci_class, ConfigurationItem.name == name
        )
    ).one()


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def _wipe_cmdb(session: Session) -> None:
    for model in (CIHistory, CIRelationship, ConfigurationItem):
        session.execute(delete(model))
    session.expunge_all()


def test_yaml_import_creates_cis_sites_groups_and_relationships(session: Session) -> None:
    report = import_estate(session, SYSTEM, ESTATE_YAML, BulkFormat.YAML)
    assert report.summary() == {
        "created": 4,
        "updated": 0,
        "unchanged": 0,
        "relationships_created": 2,
        "relationships_unchanged": 0,
        "dry_run": False,
    }
    cpe = _ci(session, "network_device", "cpe-0001")
    router = _ci(session, "network_device", "township-router-03")
    assert cpe.site_id == _ci(session, "site", "李村卫生室").id
    assert (cpe.source, cpe.external_id) == ("import", "cpe-0001")
    assert router.owner_group_id == people.find_group(session, "network").id  # type: ignore[union-attr]
    assert router.tags == ["township", "wan"]
    svc = _ci(session, "business_service", "远程会诊")
    assert svc.attributes["departments"] == ["急诊", "门诊"]
    summary = impact_of_cis(session, [router.id])
    assert [s.name for s in summary.business_services] == ["远程会诊"]


def test_reimporting_the_same_file_changes_nothing(session: Session) -> None:
    import_estate(session, SYSTEM, ESTATE_YAML, BulkFormat.YAML)
    history_rows = _count(session, CIHistory)
    again = import_estate(session, SYSTEM, ESTATE_YAML, BulkFormat.YAML)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert again.relationships_unchanged == 2
    assert _count(session, CIHistory) == history_rows


def test_a_changed_row_updates_only_its_fields(session: Session) -> None:
    import_estate(session, SYSTEM, ESTATE_YAML, BulkFormat.YAML)
    changed = ESTATE_YAML.replace("criticality: high", "criticality: clinical_critical")
    report = import_estate(session, SYSTEM, changed, BulkFormat.YAML)
    assert (report.updated, report.unchanged) == (1, 3)
    router = _ci(session, "network_device", "township-router-03")
    assert router.criticality == Criticality.CLINICAL_CRITICAL
    fields = session.scalars(
        select(CIHistory.field).where(CIHistory.ci_id == router.id).order_by(CIHistory.id)
    ).all()
    assert fields == ["created", "relationship", "criticality"]


def test_an_import_updates_a_discovered_ci_found_by_class_and_name(session: Session) -> None:
    found = service.upsert_ci(
        session, SYSTEM, "proxmox", "pve/101", {"class": "vm", "name": "his-db-01"}
    ).ci
    report = import_estate(
        session, SYSTEM, "class,name,criticality\nvm,his-db-01,clinical_critical\n", BulkFormat.CSV
    )
    assert report.updated == 1
    assert found.criticality == Criticality.CLINICAL_CRITICAL
    assert (found.source, found.external_id) == ("proxmox", "pve/101")


def test_every_problem_is_reported_with_its_row_and_nothing_is_kept(session: Session) -> None:
    before = _count(session, ConfigurationItem)
    csv_text = textwrap.dedent(
        """\
        kind,class,name,criticality,attributes.vcpus,from,relation,to
        ci,vm,good-vm,high,4,,,
        ci,vm,bad-vm,urgent,lots,,,
        ci,toaster,t,,,,,
        relationship,,,,,vm:good-vm,runs_on,hypervisor_node:nowhere
        relationship,,,,,vm:good-vm,hosts,vm:good-vm
        ci,vm,good-vm,,,,,
        """
    )
    with pytest.raises(ValidationFailed) as caught:
        import_estate(session, SYSTEM, csv_text, BulkFormat.CSV)
    assert caught.value.errors == {
        "row 3: criticality": ["Input should be 'clinical_critical', 'high', 'normal' or 'low'"],
        "row 3: attributes.vcpus": [
            "Input should be a valid integer, unable to parse string as an integer"
        ],
        "row 4: class": [
            "unknown CI class 'toaster'; one of: application, business_service, database, "
            "hypervisor_node, interface, network_device, site, vm"
        ],
        "row 5: to": ["no hypervisor_node named 'nowhere'"],
        "row 6: to": ["a CI cannot have a relationship with itself"],
        "row 7: name": ["the same CI as row 2: give each an external_id"],
    }
    assert "nothing was imported" in caught.value.detail
    assert _count(session, ConfigurationItem) == before


def test_yaml_errors_point_at_the_line_of_the_entry(session: Session) -> None:
    text = "cis:\n  - class: vm\n    name: a\n  - class: vm\n    name: b\n    colour: red\n"
    with pytest.raises(ValidationFailed) as caught:
        import_estate(session, SYSTEM, text, BulkFormat.YAML)
    assert list(caught.value.errors) == ["row 4: colour"]
    with pytest.raises(ValidationFailed) as broken:
        import_estate(session, SYSTEM, "cis:\n  - [unclosed\n", BulkFormat.YAML)
    assert list(broken.value.errors) == ["row 3: file"]


def test_a_failure_while_applying_rolls_back_everything(session: Session) -> None:
    retired = make_ci(session, "vm", "old")
    service.retire_ci(session, SYSTEM, retired)
    before = _count(session, ConfigurationItem)
    # Row 3 passes the checks but moving a retired CI to maintenance is refused.
    text = "class,name,lifecycle\nvm,fresh,active\nvm,old,maintenance\n"
    with pytest.raises(ValidationFailed) as caught:
        import_estate(session, SYSTEM, text, BulkFormat.CSV)
    assert list(caught.value.errors) == ["row 3: lifecycle"]
    assert _count(session, ConfigurationItem) == before


def test_ambiguous_names_ask_for_an_external_id(session: Session) -> None:
    make_ci(session, "network_device", "core-sw")
    make_ci(session, "network_device", "core-sw")
    with pytest.raises(ValidationFailed) as caught:
        import_estate(session, SYSTEM, "class,name\nnetwork_device,core-sw\n", BulkFormat.CSV)
    assert "add external_id" in caught.value.errors["row 2: name"][0]


def test_dry_run_counts_but_keeps_nothing(session: Session) -> None:
    report = import_estate(session, SYSTEM, ESTATE_YAML, BulkFormat.YAML, dry_run=True)
    assert report.created == 4
    assert report.dry_run is True
    assert _count(session, ConfigurationItem) == 0
    assert _count(session, CIRelationship) == 0


def test_relationship_rows_are_checked_like_the_api(session: Session) -> None:
    text = textwrap.dedent(
        """\
        cis:
          - {class: vm, name: vm-1}
          - {class: hypervisor_node, name: pve-1}
        relationships:
          - {from: "vm:vm-1", relation: runs_on, to: "hypervisor_node:pve-1"}
          - {from: "hypervisor_node:pve-1", relation: hosts, to: "vm:vm-1"}
          - {from: "hypervisor_node:pve-1", relation: runs_on, to: "vm:vm-1"}
          - {from: "vm:vm-1", relation: runs_on, to: "hypervisor_node:pve-1", redundant: true}
          - {from: "pve-1", relation: depends_on, to: "vm:vm-1"}
        """
    )
    with pytest.raises(ValidationFailed) as caught:
        import_estate(session, SYSTEM, text, BulkFormat.YAML)
    assert set(caught.value.errors) == {
        "row 6: relation",
        "row 7: relation",
        "row 8: redundant",
        "row 9: from",
    }


def test_a_site_named_later_in_the_file_is_found(session: Session) -> None:
    text = "class,name,site\nvm,vm-1,dc\nsite,dc,parent\nsite,parent,\n"
    import_estate(session, SYSTEM, text, BulkFormat.CSV)
    parent = _ci(session, "site", "parent")
    assert _ci(session, "site", "dc").site_id == parent.id
    assert _ci(session, "vm", "vm-1").site_id == _ci(session, "site", "dc").id


@pytest.mark.parametrize("fmt", list(BulkFormat))
def test_export_then_import_into_an_empty_cmdb_round_trips(
    session: Session, fmt: BulkFormat
) -> None:
    import_estate(session, SYSTEM, ESTATE_YAML, BulkFormat.YAML)
    node = make_ci(session, "hypervisor_node", "pve-01", source="proxmox", external_id="node/1")
    vm = make_ci(session, "vm", "vm-1", attributes={"vcpus": 2, "disk_gb": 40.5})
    link(session, node, RelationType.HOSTS, vm)
    gone = make_ci(session, "vm", "gone")
    link(session, gone, "runs_on", node)
    service.retire_ci(session, SYSTEM, gone)
    first = export_estate(session, fmt)
    assert "gone" not in first

    again = import_estate(session, SYSTEM, first, fmt)
    assert (again.created, again.updated, again.relationships_created) == (0, 0, 0)

    _wipe_cmdb(session)
    report = import_estate(session, SYSTEM, first, fmt)
    assert report.created == 6
    assert report.relationships_created == 3
    assert export_estate(session, fmt) == first


def test_export_can_include_retired_cis(session: Session) -> None:
    gone = make_ci(session, "vm", "gone")
    service.retire_ci(session, SYSTEM, gone)
    text = export_estate(session, BulkFormat.YAML, include_retired=True)
    assert "lifecycle: retired" in text
    _wipe_cmdb(session)
    import_estate(session, SYSTEM, text, BulkFormat.YAML)
    assert _ci(session, "vm", "gone").lifecycle == Lifecycle.RETIRED


def test_csv_from_a_chinese_excel_is_read(session: Session) -> None:
    text = "class,name,tags,attributes.kind\nsite,城关镇卫生院,乡镇;中心,township_hospital\n"
    for encoded in (text.encode("gb18030"), b"\xef\xbb\xbf" + text.encode()):
        import_estate(session, SYSTEM, encoded, BulkFormat.CSV)
    site = _ci(session, "site", "城关镇卫生院")
    assert site.tags == ["中心", "乡镇"]
    assert site.attributes == {"kind": "township_hospital"}


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("class,name,colour\nvm,a,red\n", "row 1: colour"),
        ("class,name\nvm,a,extra\n", "row 2: row"),
        ("kind,class,name\nthing,vm,a\n", "row 2: kind"),
        ("class,class\nvm,vm\n", "row 1: header"),
    ],
)
def test_malformed_csv_is_a_keyed_error(session: Session, text: str, key: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        import_estate(session, SYSTEM, text, BulkFormat.CSV)
    assert list(caught.value.errors) == [key]


def test_an_empty_file_imports_nothing(session: Session) -> None:
    assert import_estate(session, SYSTEM, "", BulkFormat.CSV).created == 0
    assert import_estate(session, SYSTEM, "", BulkFormat.YAML).created == 0
