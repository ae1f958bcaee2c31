"""Raw walk results into typed rows: the system group, interfaces, CPUs and storage.

Only shapes, no arithmetic over time (that is :mod:`collectors.snmp.rates`). Text from
agents is bytes in no declared charset: UTF-8 is tried first, then GB 18030 (Chinese
devices often keep ``ifAlias`` in GBK), then Latin-1 so nothing is ever lost.
"""

from __future__ import annotations

from dataclasses import dataclass

from collectors.snmp import oids
from collectors.snmp.rates import Bits
from collectors.snmp.session import Columns, Oid, Value

INT32_MODULUS = 2**32


def text(value: Value | None) -> str | None:
    """Agent text as ``str`` (stripped; None when empty or absent)."""
    if value is None:
        return None
    if isinstance(value, bytes):
        for charset in ("utf-8", "gb18030"):
            try:
                decoded = value.decode(charset)
                break
            except UnicodeDecodeError:
                continue
        else:
            decoded = value.decode("latin-1")
    else:
        decoded = str(value)
    decoded = decoded.replace("\x00", "").strip()
    return decoded or None


def number(value: Value | None) -> int | None:
    return value if isinstance(value, int) else None


def mac(value: Value | None) -> str | None:
    if not isinstance(value, bytes) or len(value) != 6 or not any(value):
        return None
    return ":".join(f"{byte:02x}" for byte in value)


@dataclass(frozen=True, slots=True)
class SystemInfo:
    descr: str | None
    object_id: str | None
    uptime_ticks: int | None
    name: str | None

    @property
    def uptime_seconds(self) -> float | None:
        return None if self.uptime_ticks is None else self.uptime_ticks / 100

    @classmethod
    def from_scalars(cls, scalars: dict[str, Value]) -> SystemInfo:
        object_id = scalars.get(oids.SYS_OBJECT_ID)
        return cls(
            descr=text(scalars.get(oids.SYS_DESCR)),
            object_id=object_id if isinstance(object_id, str) else None,
            uptime_ticks=number(scalars.get(oids.SYS_UPTIME)),
            name=text(scalars.get(oids.SYS_NAME)),
        )


@dataclass(frozen=True, slots=True)
class Counter:
    """A counter value, its width, and the agent's sysUpTime when it was read."""

    value: int
    bits: Bits
    ticks: int | None = None


@dataclass(frozen=True, slots=True)
class InterfaceRow:
    """One ifTable/ifXTable row; octet counters are the HC ones when the agent has them."""

    index: int
    name: str
    descr: str | None
    alias: str | None
    if_type: int | None
    mtu: int | None
    speed_bps: float | None  # ifHighSpeed x 10⁶, else ifSpeed; None when unknown or 0
    mac: str | None
    admin_status: int | None
    oper_status: int | None
    in_octets: Counter | None
    out_octets: Counter | None
    in_errors: Counter | None
    out_errors: Counter | None
    in_discards: Counter | None
    out_discards: Counter | None
    discontinuity: int | None

    @property
    def speed_mbps(self) -> int | None:
        return None if self.speed_bps is None else round(self.speed_bps / 1_000_000)


def _counter(found: Columns, column: str, index: Oid, bits: Bits) -> Counter | None:
    value = number(found.column(column).get(index))
    return None if value is None else Counter(value, bits, found.clock.get((column, index)))


def _octets(found: Columns, hc: str, low: str, index: Oid) -> Counter | None:
    return _counter(found, hc, index, 64) or _counter(found, low, index, 32)


def _counter32(found: Columns, column: str, index: Oid) -> Counter | None:
    return _counter(found, column, index, 32)


def interfaces(found: Columns) -> list[InterfaceRow]:
    """Every interface row of a walk of :data:`oids.INTERFACE_COLUMNS`."""
    rows: list[InterfaceRow] = []
    for index in found.indexes():
        if len(index) != 1 or index[0] < 1:
            continue  # not an ifIndex; a broken agent

        def col(column: str, index: Oid = index) -> Value | None:
            return found.column(column).get(index)

        high_speed = number(col(oids.IF_HIGH_SPEED))
        speed = number(col(oids.IF_SPEED))
        speed_bps: float | None = None
        if high_speed:
            speed_bps = high_speed * 1_000_000.0
        elif speed:
            speed_bps = float(speed)
        descr = text(col(oids.IF_DESCR))
        rows.append(
            InterfaceRow(
                index=index[0],
                name=text(col(oids.IF_NAME)) or descr or f"ifIndex {index[0]}",
                descr=descr,
                alias=text(col(oids.IF_ALIAS)),
                if_type=number(col(oids.IF_TYPE)),
                mtu=number(col(oids.IF_MTU)),
                speed_bps=speed_bps,
                mac=mac(col(oids.IF_PHYS_ADDRESS)),
                admin_status=number(col(oids.IF_ADMIN_STATUS)),
                oper_status=number(col(oids.IF_OPER_STATUS)),
                in_octets=_octets(found, oids.IF_HC_IN_OCTETS, oids.IF_IN_OCTETS, index),
                out_octets=_octets(found, oids.IF_HC_OUT_OCTETS, oids.IF_OUT_OCTETS, index),
                in_errors=_counter32(found, oids.IF_IN_ERRORS, index),
                out_errors=_counter32(found, oids.IF_OUT_ERRORS, index),
                in_discards=_counter32(found, oids.IF_IN_DISCARDS, index),
                out_discards=_counter32(found, oids.IF_OUT_DISCARDS, index),
                discontinuity=number(col(oids.IF_COUNTER_DISCONTINUITY_TIME)),
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class StorageRow:
    """One hrStorageEntry in bytes (size and used x allocation units)."""

    index: int
    descr: str
    kind: str
    size_bytes: int
    used_bytes: int

    @property
    def used_percent(self) -> float | None:
        return None if self.size_bytes <= 0 else 100.0 * self.used_bytes / self.size_bytes


def _unsigned(value: int) -> int:
    # hrStorageSize/Used are Integer32; big disks come back negative on some agents.
    return value + INT32_MODULUS if value < 0 else value


def storage(found: Columns) -> list[StorageRow]:
    rows: list[StorageRow] = []
    for index in found.indexes():
        units = number(found.column(oids.HR_STORAGE_ALLOCATION_UNITS).get(index))
        size = number(found.column(oids.HR_STORAGE_SIZE).get(index))
        used = number(found.column(oids.HR_STORAGE_USED).get(index))
        if len(index) != 1 or not units or units < 0 or size is None or used is None:
            continue
        kind = found.column(oids.HR_STORAGE_TYPE).get(index)
        rows.append(
            StorageRow(
                index=index[0],
                descr=text(found.column(oids.HR_STORAGE_DESCR).get(index)) or f"storage {index[0]}",
                kind=oids.HR_STORAGE_TYPES.get(kind, "other") if isinstance(kind, str) else "other",
                size_bytes=_unsigned(size) * units,
                used_bytes=_unsigned(used) * units,
            )
        )
    return rows


def processor_loads(found: Columns) -> dict[int, int]:
    """hrProcessorLoad per hrDeviceIndex (percent, 0-100)."""
    return {
        index[0]: value
        for index, value in found.column(oids.HR_PROCESSOR_LOAD).items()
        if len(index) == 1 and isinstance(value, int) and 0 <= value <= 100
    }
