"""What an SNMP poll tells the CMDB: the network_device, its interfaces, ``part_of`` edges.

Attributes follow ``itsm_core.cmdb.classes`` (NetworkDeviceAttributes,
InterfaceAttributes) and are validated here, so discovery never trips on a value an
agent made up (an over-long sysName is cut, an out-of-range ifType dropped). The
vendor comes from the sysObjectID's enterprise number, the OS version from a
``Version x.y`` in sysDescr when there is one. Identities: the device is
``CIRef("snmp", target.device_id)``, an interface ``CIRef("snmp", "<device id>:<ifIndex>")``.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ValidationError

from collectors.result import DiscoveredCI, DiscoveredRelation
from collectors.samples import CIRef
from collectors.snmp import oids
from collectors.snmp.tables import InterfaceRow, SystemInfo
from collectors.snmp.target import SnmpTarget
from itsm_core.cmdb.choices import RelationType
from itsm_core.cmdb.classes import (
    INTERFACE,
    NETWORK_DEVICE,
    InterfaceAttributes,
    NetworkDeviceAttributes,
)

SOURCE = "snmp"
NAME_MAX = 200
_VERSION = re.compile(r"\bVersion\s+([0-9][\w.()\-]*)", re.IGNORECASE)


def device_ref(target: SnmpTarget) -> CIRef:
    return CIRef(SOURCE, target.device_id)


def interface_scope(target: SnmpTarget) -> str:
    """The external-id prefix of this device's interfaces (the discovery sweep's scope).

    A host with agents on port 161 *and* another port shares the prefix ``host:`` with
    the second agent's interfaces; poll such agents under distinct host names.
    """
    return f"{target.device_id}:"


def interface_ref(target: SnmpTarget, if_index: int) -> CIRef:
    return CIRef(SOURCE, f"{interface_scope(target)}{if_index}")


def _short(value: str | None, limit: int = NAME_MAX) -> str | None:
    return None if value is None else value[:limit].strip() or None


def vendor_of(object_id: str | None) -> str | None:
    if not object_id or not object_id.startswith(oids.ENTERPRISE_PREFIX):
        return None
    enterprise = object_id[len(oids.ENTERPRISE_PREFIX) :].split(".", 1)[0]
    return oids.VENDORS.get(int(enterprise)) if enterprise.isdigit() else None


def os_version_of(descr: str | None) -> str | None:
    match = _VERSION.search(descr or "")
    return None if match is None else _short(match.group(1).rstrip(",."))


def _valid(model: type[BaseModel], values: dict[str, Any]) -> dict[str, Any]:
    """``values`` that pass ``model``, field by field (a bad one is dropped, not fatal)."""
    clean = {k: v for k, v in values.items() if v is not None}
    try:
        return model.model_validate(clean).model_dump(mode="json", exclude_none=True)
    except ValidationError as exc:
        bad = {str(err["loc"][0]) for err in exc.errors() if err["loc"]}
        kept = {k: v for k, v in clean.items() if k not in bad}
        return model.model_validate(kept).model_dump(mode="json", exclude_none=True)


def device_name(target: SnmpTarget, system: SystemInfo) -> str:
    return _short(system.name) or target.device_id


def discovered_device(target: SnmpTarget, system: SystemInfo) -> DiscoveredCI:
    attributes = _valid(
        NetworkDeviceAttributes,
        {
            "vendor": vendor_of(system.object_id),
            "os_version": os_version_of(system.descr),
            "sys_object_id": system.object_id,
            "sys_name": _short(system.name),
            "sys_descr": None if system.descr is None else system.descr[:1000],
            "snmp_version": str(target.version),
            "snmp_port": target.port,
            "snmp_profile": _short(target.profile),
        },
    )
    return DiscoveredCI(device_ref(target), NETWORK_DEVICE, device_name(target, system), attributes)


def discovered_interface(target: SnmpTarget, device: str, row: InterfaceRow) -> DiscoveredCI:
    attributes = _valid(
        InterfaceAttributes,
        {
            "if_index": row.index,
            "if_name": _short(row.name),
            "if_alias": _short(row.alias),
            "if_type": row.if_type,
            "speed_mbps": row.speed_mbps,
            "mtu": row.mtu,
            "mac": row.mac,
        },
    )
    name = f"{device} {row.name}"[:NAME_MAX].strip()
    return DiscoveredCI(interface_ref(target, row.index), INTERFACE, name, attributes)


def discovery(
    target: SnmpTarget, system: SystemInfo, rows: list[InterfaceRow]
) -> tuple[list[DiscoveredCI], list[DiscoveredRelation]]:
    """The device, its interfaces, and ``interface part_of network_device`` for each."""
    device = discovered_device(target, system)
    cis = [device]
    relations = []
    for row in rows:
        interface = discovered_interface(target, device.name, row)
        cis.append(interface)
        relations.append(DiscoveredRelation(str(RelationType.PART_OF), interface.ref, device.ref))
    return cis, relations
