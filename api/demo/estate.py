"""Seed 000's county network as CIs, relationships, groups and people.

A data-centre Proxmox cluster (3 nodes) runs HIS, EMR, PACS, LIS and telemedicine VMs
whose business services are clinical-critical; two core switches; 19 township-hospital
routers; village-clinic CPEs behind them (30 behind 城关镇 for scenario 2, a few behind
the others). Everything is created through the same domain functions the API uses, so
the audit log and CI history of the demo are real.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from itsm_core.actor import SYSTEM
from itsm_core.cmdb.choices import Criticality, RelationType
from itsm_core.cmdb.models import ConfigurationItem
from itsm_core.cmdb.relationships import ensure_relationship
from itsm_core.cmdb.service import upsert_ci
from itsm_core.people import service as people
from itsm_core.people.models import Group, User
from itsm_core.people.roles import Role

SOURCE = "demo"
TOWNSHIPS = [
    "城关镇",
    "青山镇",
    "河口镇",
    "石桥镇",
    "龙泉镇",
    "白沙镇",
    "新集镇",
    "马坪镇",
    "柳林镇",
    "双河镇",
    "花园镇",
    "金鸡镇",
    "三里镇",
    "东岳镇",
    "西庄镇",
    "南湖镇",
    "北山镇",
    "高桥镇",
    "杨柳镇",
]
CLINICS_BEHIND_FIRST = 30  # scenario 2: one township router, 30 village clinics behind it
CLINICS_BEHIND_OTHERS = 3

GROUPS = {
    "service-desk": "服务台 — first line, takes calls and WeCom requests",
    "network": "网络组 — routers, switches, village-clinic links",
    "systems": "系统组 — Proxmox cluster, VMs, storage",
    "applications": "应用组 — HIS, EMR, PACS, LIS, telemedicine",
    "vendor": "厂商支持 — vendor engineers on contract",
    "cab": "变更管理委员会 — change advisory board",
}
PEOPLE: list[tuple[str, str, set[Role], list[str]]] = [
    ("admin", "系统管理员", {Role.ADMIN}, []),
    ("desk.li", "李娜 (服务台)", {Role.SERVICE_DESK}, ["service-desk"]),
    ("desk.zhou", "周敏 (服务台)", {Role.SERVICE_DESK}, ["service-desk"]),
    ("net.wang", "王强 (网络一线)", {Role.ENGINEER, Role.ON_CALL}, ["network"]),
    ("net.zhao", "赵磊 (网络二线)", {Role.ENGINEER}, ["network"]),
    ("sys.chen", "陈刚 (系统一线)", {Role.ENGINEER, Role.ON_CALL}, ["systems"]),
    ("sys.liu", "刘洋 (系统二线)", {Role.ENGINEER}, ["systems"]),
    ("app.sun", "孙丽 (应用)", {Role.ENGINEER}, ["applications"]),
    ("vendor.he", "何工 (厂商)", {Role.ENGINEER}, ["vendor"]),
    ("cab.huang", "黄主任 (CAB)", {Role.CHANGE_APPROVER}, ["cab"]),
    ("cab.xu", "徐工 (CAB)", {Role.CHANGE_APPROVER}, ["cab"]),
    ("head.ma", "马主任 (信息中心主任)", {Role.MANAGER}, ["cab"]),
    ("viewer", "只读访客", {Role.VIEWER}, []),
]

# (name, business service, criticality, group, vms: [(vm name, node, vmid, role)])
APPLICATIONS: list[tuple[str, str, Criticality, str, list[tuple[str, str, int, str]]]] = [
    (
        "HIS",
        "门诊挂号与收费 (HIS)",
        Criticality.CLINICAL_CRITICAL,
        "applications",
        [("his-app-01", "pve-01", 101, "app"), ("his-db-01", "pve-02", 102, "db")],
    ),
    (
        "EMR",
        "电子病历 (EMR)",
        Criticality.CLINICAL_CRITICAL,
        "applications",
        [("emr-app-01", "pve-02", 111, "app"), ("emr-db-01", "pve-03", 112, "db")],
    ),
    (
        "PACS",
        "医学影像 (PACS)",
        Criticality.CLINICAL_CRITICAL,
        "applications",
        [("pacs-01", "pve-03", 121, "app")],
    ),
    (
        "LIS",
        "检验信息 (LIS)",
        Criticality.CLINICAL_CRITICAL,
        "applications",
        [("lis-01", "pve-01", 131, "app")],
    ),
    (
        "Telemedicine",
        "远程会诊 (Telemedicine)",
        Criticality.CLINICAL_CRITICAL,
        "applications",
        [
            ("tele-gw-01", "pve-01", 141, "gateway"),
            ("tele-gw-02", "pve-02", 142, "gateway"),
            ("tele-mcu-01", "pve-03", 143, "app"),
        ],
    ),
]


@dataclass
class Estate:
    """Handles to what was seeded, for the ticket seeding and the tests."""

    groups: dict[str, Group] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    cis: dict[str, ConfigurationItem] = field(default_factory=dict)


def _ci(
    session: Session, estate: Estate, key: str, ci_class: str, name: str, **fields: Any
) -> ConfigurationItem:
    result = upsert_ci(session, SYSTEM, SOURCE, key, {"class": ci_class, "name": name, **fields})
    estate.cis[key] = result.ci
    return result.ci


def _link(
    session: Session, estate: Estate, src: str, rel: RelationType, dst: str, **kw: bool
) -> None:
    ensure_relationship(session, SYSTEM, estate.cis[src], rel, estate.cis[dst], **kw)


def seed_people(session: Session, estate: Estate) -> None:
    for name, description in GROUPS.items():
        estate.groups[name] = people.find_group(session, name) or people.create_group(
            session, SYSTEM, name, description=description
        )
    for username, display, roles, groups in PEOPLE:
        user = people.find_user(session, username) or people.create_user(
            session,
            SYSTEM,
            username,
            display_name=display,
            roles=roles,
            email=f"{username}@hospital.example",
        )
        for group in groups:
            people.add_member(session, SYSTEM, estate.groups[group], user)
        estate.users[username] = user


def seed_cmdb(session: Session, estate: Estate) -> None:
    g = {name: group.id for name, group in estate.groups.items()}
    dc = _ci(
        session,
        estate,
        "site:dc",
        "site",
        "县数据中心 County data centre",
        attributes={"kind": "data_center", "region": "县城"},
        criticality=Criticality.HIGH,
    )
    for i in (1, 2):
        _ci(
            session,
            estate,
            f"core-sw-0{i}",
            "network_device",
            f"core-sw-0{i}",
            site_id=dc.id,
            owner_group_id=g["network"],
            criticality=Criticality.HIGH,
            management_address=f"10.0.0.{i}",
            attributes={"vendor": "Huawei", "model": "S12700", "role": "core"},
        )
    for n in (1, 2, 3):
        _ci(
            session,
            estate,
            f"pve-0{n}",
            "hypervisor_node",
            f"pve-0{n}",
            site_id=dc.id,
            owner_group_id=g["systems"],
            criticality=Criticality.HIGH,
            management_address=f"10.0.1.{n}",
            attributes={"cluster": "pve-dc", "platform": "proxmox-ve", "version": "8.2"},
        )
        _link(session, estate, f"pve-0{n}", RelationType.CONNECTED_TO, "core-sw-01")
    for app, service, criticality, group, vms in APPLICATIONS:
        _ci(
            session,
            estate,
            f"svc:{app}",
            "business_service",
            service,
            owner_group_id=g[group],
            criticality=criticality,
            attributes={"clinical": True, "service_hours": "24x7"},
        )
        _ci(
            session,
            estate,
            f"app:{app}",
            "application",
            app,
            owner_group_id=g[group],
            criticality=criticality,
            attributes={"environment": "production"},
        )
        _link(session, estate, f"svc:{app}", RelationType.DEPENDS_ON, f"app:{app}")
        gateways = [vm for vm in vms if vm[3] == "gateway"]
        for vm, node, vmid, role in vms:
            _ci(
                session,
                estate,
                vm,
                "vm",
                vm,
                site_id=dc.id,
                owner_group_id=g["systems"],
                criticality=Criticality.HIGH if role != "gateway" else Criticality.NORMAL,
                management_address=f"10.0.2.{vmid - 100}",
                tags=[app.lower(), role],
                attributes={"node": node, "vmid": vmid, "vm_type": "qemu", "hostname": vm},
            )
            _link(session, estate, vm, RelationType.RUNS_ON, node)
            if role == "db":
                _ci(
                    session,
                    estate,
                    f"db:{app}",
                    "database",
                    f"{app} database",
                    owner_group_id=g["systems"],
                    criticality=criticality,
                    attributes={"engine": "oracle", "version": "19c"},
                )
                _link(session, estate, f"db:{app}", RelationType.RUNS_ON, vm)
                _link(session, estate, f"app:{app}", RelationType.DEPENDS_ON, f"db:{app}")
            elif role == "gateway" and len(gateways) > 1:
                # Two gateways back each other up: losing one does not stop the service.
                _link(session, estate, f"app:{app}", RelationType.DEPENDS_ON, vm, redundant=True)
            else:
                _link(session, estate, f"app:{app}", RelationType.RUNS_ON, vm)
    for t, township in enumerate(TOWNSHIPS, start=1):
        site = _ci(
            session,
            estate,
            f"site:t{t}",
            "site",
            f"{township}卫生院",
            site_id=None,
            attributes={"kind": "township_hospital", "region": township},
        )
        router = f"rt-t{t:02d}"
        _ci(
            session,
            estate,
            router,
            "network_device",
            f"{township}卫生院路由器",
            site_id=site.id,
            owner_group_id=g["network"],
            criticality=Criticality.HIGH,
            management_address=f"10.{t}.0.1",
            attributes={
                "vendor": "H3C",
                "model": "MSR3610",
                "role": "router",
                "snmp_version": "v2c",
            },
        )
        _link(session, estate, router, RelationType.CONNECTED_TO, f"core-sw-0{1 + t % 2}")
        _link(session, estate, "svc:Telemedicine", RelationType.DEPENDS_ON, router)
        clinics = CLINICS_BEHIND_FIRST if t == 1 else CLINICS_BEHIND_OTHERS
        for c in range(1, clinics + 1):
            cpe = f"cpe-t{t:02d}-{c:02d}"
            _ci(
                session,
                estate,
                cpe,
                "network_device",
                f"{township}第{c}村卫生室 CPE",
                owner_group_id=g["network"],
                criticality=Criticality.NORMAL,
                management_address=f"10.{t}.{c}.1",
                tags=["village-clinic"],
                attributes={"vendor": "TP-Link", "role": "cpe", "snmp_version": "v2c"},
            )
            _link(session, estate, cpe, RelationType.CONNECTED_TO, router)


def seed_estate(session: Session) -> Estate:
    """Seed (or re-seed idempotently) the whole CMDB and people of the demo."""
    estate = Estate()
    seed_people(session, estate)
    seed_cmdb(session, estate)
    return estate
