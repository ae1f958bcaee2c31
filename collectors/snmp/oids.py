"""Numeric OIDs the SNMP collector reads (pysnmp 7 bundles neither IF-MIB nor HOST-RESOURCES).

Columns are table entry OIDs plus the column number, without an instance; a walk of a
column returns ``column.<index>`` rows. System scalars are given without their ``.0``:
a GETNEXT on ``1.3.6.1.2.1.1.3`` answers ``1.3.6.1.2.1.1.3.0``.
"""

from __future__ import annotations

from typing import Final

# SNMPv2-MIB system group (scalars, read as GETNEXT of the object → instance .0).
SYS_DESCR: Final = "1.3.6.1.2.1.1.1"
SYS_OBJECT_ID: Final = "1.3.6.1.2.1.1.2"
SYS_UPTIME: Final = "1.3.6.1.2.1.1.3"
SYS_NAME: Final = "1.3.6.1.2.1.1.5"
SYSTEM: Final = (SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_NAME)

# IF-MIB ifTable (ifEntry = 1.3.6.1.2.1.2.2.1).
_IF_ENTRY = "1.3.6.1.2.1.2.2.1"
IF_DESCR: Final = f"{_IF_ENTRY}.2"
IF_TYPE: Final = f"{_IF_ENTRY}.3"
IF_MTU: Final = f"{_IF_ENTRY}.4"
IF_SPEED: Final = f"{_IF_ENTRY}.5"  # Gauge32 bits/s (saturates at 4.29 Gbit/s)
IF_PHYS_ADDRESS: Final = f"{_IF_ENTRY}.6"
IF_ADMIN_STATUS: Final = f"{_IF_ENTRY}.7"
IF_OPER_STATUS: Final = f"{_IF_ENTRY}.8"
IF_IN_OCTETS: Final = f"{_IF_ENTRY}.10"  # Counter32
IF_IN_DISCARDS: Final = f"{_IF_ENTRY}.13"
IF_IN_ERRORS: Final = f"{_IF_ENTRY}.14"
IF_OUT_OCTETS: Final = f"{_IF_ENTRY}.16"  # Counter32
IF_OUT_DISCARDS: Final = f"{_IF_ENTRY}.19"
IF_OUT_ERRORS: Final = f"{_IF_ENTRY}.20"

# IF-MIB ifXTable (ifXEntry = 1.3.6.1.2.1.31.1.1.1).
_IFX_ENTRY = "1.3.6.1.2.1.31.1.1.1"
IF_NAME: Final = f"{_IFX_ENTRY}.1"
IF_HC_IN_OCTETS: Final = f"{_IFX_ENTRY}.6"  # Counter64
IF_HC_OUT_OCTETS: Final = f"{_IFX_ENTRY}.10"  # Counter64
IF_HIGH_SPEED: Final = f"{_IFX_ENTRY}.15"  # Gauge32 Mbit/s
IF_ALIAS: Final = f"{_IFX_ENTRY}.18"
IF_COUNTER_DISCONTINUITY_TIME: Final = f"{_IFX_ENTRY}.19"  # TimeStamp (sysUpTime ticks)

INTERFACE_COLUMNS: Final = (
    IF_NAME,
    IF_HC_IN_OCTETS,
    IF_HC_OUT_OCTETS,
    IF_HIGH_SPEED,
    IF_ALIAS,
    IF_COUNTER_DISCONTINUITY_TIME,
    IF_DESCR,
    IF_TYPE,
    IF_MTU,
    IF_SPEED,
    IF_PHYS_ADDRESS,
    IF_ADMIN_STATUS,
    IF_OPER_STATUS,
    IF_IN_OCTETS,
    IF_IN_DISCARDS,
    IF_IN_ERRORS,
    IF_OUT_OCTETS,
    IF_OUT_DISCARDS,
    IF_OUT_ERRORS,
)

# HOST-RESOURCES-MIB.
HR_PROCESSOR_LOAD: Final = "1.3.6.1.2.1.25.3.3.1.2"  # per hrDeviceIndex, percent over 1 min
_HR_STORAGE_ENTRY = "1.3.6.1.2.1.25.2.3.1"
HR_STORAGE_TYPE: Final = f"{_HR_STORAGE_ENTRY}.2"
HR_STORAGE_DESCR: Final = f"{_HR_STORAGE_ENTRY}.3"
HR_STORAGE_ALLOCATION_UNITS: Final = f"{_HR_STORAGE_ENTRY}.4"
HR_STORAGE_SIZE: Final = f"{_HR_STORAGE_ENTRY}.5"
HR_STORAGE_USED: Final = f"{_HR_STORAGE_ENTRY}.6"
HOST_COLUMNS: Final = (
    HR_PROCESSOR_LOAD,
    HR_STORAGE_TYPE,
    HR_STORAGE_DESCR,
    HR_STORAGE_ALLOCATION_UNITS,
    HR_STORAGE_SIZE,
    HR_STORAGE_USED,
)

# hrStorageTypes (1.3.6.1.2.1.25.2.1.N) → short label.
HR_STORAGE_TYPES: Final = {
    "1.3.6.1.2.1.25.2.1.1": "other",
    "1.3.6.1.2.1.25.2.1.2": "ram",
    "1.3.6.1.2.1.25.2.1.3": "virtual_memory",
    "1.3.6.1.2.1.25.2.1.4": "fixed_disk",
    "1.3.6.1.2.1.25.2.1.5": "removable_disk",
    "1.3.6.1.2.1.25.2.1.6": "floppy_disk",
    "1.3.6.1.2.1.25.2.1.7": "compact_disc",
    "1.3.6.1.2.1.25.2.1.8": "ram_disk",
    "1.3.6.1.2.1.25.2.1.9": "flash_memory",
    "1.3.6.1.2.1.25.2.1.10": "network_disk",
}

# Private enterprise numbers (1.3.6.1.4.1.N) of vendors common in Chinese hospital networks.
ENTERPRISE_PREFIX: Final = "1.3.6.1.4.1."
VENDORS: Final = {
    9: "Cisco",
    11: "HPE",
    311: "Microsoft",
    674: "Dell",
    2011: "Huawei",
    2636: "Juniper",
    3902: "ZTE",
    4881: "Ruijie",
    6876: "VMware",
    8072: "Net-SNMP",
    12356: "Fortinet",
    14988: "MikroTik",
    25506: "H3C",
}
