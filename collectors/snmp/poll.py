"""One poll of one SNMP agent: walks, figures, rates, discovery → ``PollResult``.

Two GETBULK walks run side by side: the system group (as non-repeaters) with the
ifTable/ifXTable columns, and the HOST-RESOURCES processor and storage columns. When a
``RateState`` is given, each walk asks for as many rows as the device had last time
(+1 to see the end), so a steady device costs few and full requests.

Samples (``ci`` is the device, or ``<device id>:<ifIndex>`` for interface figures;
interface samples are labelled ``ifName`` and ``ifIndex``):

====================================  =============================================
``snmp_up``                           1 (a failed poll raises; see failure_samples)
``snmp_response_seconds``             round trip of the first request
``snmp_uptime_seconds``               sysUpTime
``snmp_poll_varbinds``                variable bindings this poll received
``snmp_if_oper_status``               ifOperStatus (1 up, 2 down, … as in IF-MIB)
``snmp_if_admin_status``              ifAdminStatus
``snmp_if_speed_mbps``                ifHighSpeed (or ifSpeed / 10⁶)
``snmp_if_in_bps`` / ``_out_bps``     octet counters (HC when present) x 8 per second
``snmp_if_in_utilisation_percent``    in bps / speed x 100 (``_out_`` likewise)
``snmp_if_in_errors_per_second``      ifInErrors rate (``out``, ``discards`` likewise)
``snmp_cpu_load_percent``             hrProcessorLoad, label ``cpu`` (hrDeviceIndex)
``snmp_cpu_load_avg_percent``         mean over the CPUs
``snmp_storage_size_bytes``           hrStorageSize x units, labels ``storage``,
``snmp_storage_used_bytes``           ``hrStorageIndex``, ``type`` (ram, fixed_disk…)
``snmp_storage_used_percent``         used / size x 100
====================================  =============================================

Rates need a previous reading (``state``); the first poll of a device, one after an
agent restart or a counter discontinuity gives no rate rather than a false one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from collectors.result import PollResult
from collectors.samples import CIRef, Sample
from collectors.snmp import oids
from collectors.snmp.inventory import device_ref, discovery, interface_ref, interface_scope
from collectors.snmp.rates import RateState, Reading
from collectors.snmp.session import Columns, SnmpEngine, SnmpSession
from collectors.snmp.tables import (
    Counter,
    InterfaceRow,
    SystemInfo,
    interfaces,
    processor_loads,
    storage,
)
from collectors.snmp.target import SnmpTarget
from itsm_core.cmdb.classes import INTERFACE

log = logging.getLogger(__name__)

IF_TABLE = "if"
HOST_TABLE = "host"
# A Counter32 "wrap" implying more than this share of the line rate was a reset.
WRAP_LINE_RATE_SLACK = 1.2
T = TypeVar("T")


async def _both(first: Coroutine[Any, Any, T], second: Coroutine[Any, Any, T]) -> tuple[T, T]:
    """Run two walks together; the first failure cancels the other and is raised."""
    tasks = [asyncio.ensure_future(first), asyncio.ensure_future(second)]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in tasks:
            if task in done and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        return tasks[0].result(), tasks[1].result()
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _repetitions(target: SnmpTarget, state: RateState | None, table: str) -> int:
    rows = None if state is None else state.rows_hint(target.device_id, table)
    return target.max_repetitions if rows is None else max(1, min(rows + 1, target.max_repetitions))


class _Builder:
    """Collects the samples of one poll at one timestamp."""

    def __init__(self, target: SnmpTarget, ts: datetime) -> None:
        self.target = target
        self.ts = ts
        self.samples: list[Sample] = []
        self.device = device_ref(target)

    def add(
        self,
        metric: str,
        value: float | None,
        labels: Mapping[str, str] | None = None,
        ci: CIRef | None = None,
    ) -> None:
        if value is not None:
            self.samples.append(
                Sample(metric, float(value), self.ts, dict(labels or {}), ci or self.device)
            )


def _interface_figures(
    out: _Builder,
    row: InterfaceRow,
    state: RateState | None,
    uptime: float | None,
    at: float,
) -> set[tuple[int, str]]:
    target = out.target
    ci = interface_ref(target, row.index)
    labels = {"ifName": row.name, "ifIndex": str(row.index)}
    out.add("snmp_if_oper_status", row.oper_status, labels, ci)
    out.add("snmp_if_admin_status", row.admin_status, labels, ci)
    out.add("snmp_if_speed_mbps", row.speed_mbps, labels, ci)
    kept: set[tuple[int, str]] = set()
    if state is None:
        return kept

    def rate(counter: str, reading: Counter | None, max_rate: float | None) -> float | None:
        if reading is None:
            return None
        kept.add((row.index, counter))
        read_at = uptime if reading.ticks is None else reading.ticks / 100
        sample = Reading(reading.value, reading.bits, at, read_at, row.discontinuity)
        return state.rate(target.device_id, row.index, counter, sample, max_rate=max_rate).value

    max_octets = None if row.speed_bps is None else row.speed_bps / 8 * WRAP_LINE_RATE_SLACK
    for direction, octets in (("in", row.in_octets), ("out", row.out_octets)):
        per_second = rate(f"{direction}_octets", octets, max_octets)
        if per_second is not None:
            bps = per_second * 8
            out.add(f"snmp_if_{direction}_bps", bps, labels, ci)
            if row.speed_bps:
                out.add(
                    f"snmp_if_{direction}_utilisation_percent",
                    100.0 * bps / row.speed_bps,
                    labels,
                    ci,
                )
    for name, counter in (
        ("in_errors", row.in_errors),
        ("out_errors", row.out_errors),
        ("in_discards", row.in_discards),
        ("out_discards", row.out_discards),
    ):
        out.add(f"snmp_if_{name}_per_second", rate(name, counter, None), labels, ci)
    return kept


def _host_figures(out: _Builder, found: Columns) -> None:
    loads = processor_loads(found)
    for cpu, load in sorted(loads.items()):
        out.add("snmp_cpu_load_percent", load, {"cpu": str(cpu)})
    if loads:
        out.add("snmp_cpu_load_avg_percent", sum(loads.values()) / len(loads))
    for row in storage(found):
        labels = {"storage": row.descr, "hrStorageIndex": str(row.index), "type": row.kind}
        out.add("snmp_storage_size_bytes", row.size_bytes, labels)
        out.add("snmp_storage_used_bytes", row.used_bytes, labels)
        out.add("snmp_storage_used_percent", row.used_percent, labels)


async def poll_snmp(
    target: SnmpTarget,
    state: RateState | None = None,
    *,
    engine: SnmpEngine | None = None,
) -> PollResult:
    """Poll ``target`` once (see the module docstring); raises a ``CollectorError``."""
    session = await SnmpSession.open(target, engine)
    if_walk, host_walk = await _both(
        session.walk_columns(
            oids.INTERFACE_COLUMNS,
            scalars=oids.SYSTEM,
            clock=oids.SYS_UPTIME,  # each request's own time base for its counters
            max_repetitions=_repetitions(target, state, IF_TABLE),
        ),
        session.walk_columns(
            oids.HOST_COLUMNS, max_repetitions=_repetitions(target, state, HOST_TABLE)
        ),
    )
    at = time.time()
    out = _Builder(target, datetime.fromtimestamp(at, UTC))
    system = SystemInfo.from_scalars(if_walk.scalars)
    rows = interfaces(if_walk)
    device = target.device_id
    if state is not None:
        if state.observe_uptime(device, system.uptime_seconds, at):
            log.info("%s restarted (sysUpTime went back): rates start over", target.display)
        state.remember_rows(device, IF_TABLE, len(rows))
        state.remember_rows(
            device, HOST_TABLE, max((len(c) for c in host_walk.rows.values()), default=0)
        )

    out.add("snmp_up", 1)
    out.add("snmp_response_seconds", if_walk.first_rtt)
    out.add("snmp_uptime_seconds", system.uptime_seconds)
    out.add("snmp_poll_varbinds", if_walk.varbinds + host_walk.varbinds)
    kept: set[tuple[int, str]] = set()
    for row in rows:
        kept |= _interface_figures(out, row, state, system.uptime_seconds, at)
    if state is not None:
        state.retain(device, kept)
    _host_figures(out, host_walk)

    cis, relations = discovery(target, system, rows)
    log.debug(
        "%s: %d interfaces, %d samples, %d requests",
        target.display,
        len(rows),
        len(out.samples),
        if_walk.requests + host_walk.requests,
    )
    # The walk saw every interface of this device: discovery may mark the device's
    # other interfaces missing — only its own (scope), never another device's.
    return PollResult(
        target=target.display,
        samples=out.samples,
        cis=cis,
        relations=relations,
        complete=frozenset({INTERFACE}),
        scope=interface_scope(target),
    )


def failure_samples(target: SnmpTarget, at: datetime | None = None) -> list[Sample]:
    """``snmp_up 0`` for a poll that raised (the scheduler records it)."""
    ts = at or datetime.now(UTC)
    return [Sample("snmp_up", 0.0, ts, {}, device_ref(target))]
