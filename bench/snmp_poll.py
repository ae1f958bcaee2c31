# ruff: noqa: E402  (bench/ must leave sys.path before the project's imports)
"""SNMP polling throughput: Fulcrum's collector and Debian's snmp_exporter, same agents.

    .venv/bin/python bench/snmp_poll.py [--devices 1000] [--quick] [--processes 2]

Generates ``--devices`` simulated devices (system group; ifTable + ifXTable of 10
interfaces with HC counters; HOST-RESOURCES: 2 CPUs and 3 storage areas), each one
snmpsim data file answering to its own community (``dev<i>``), served by
``--sim-processes`` snmpsim processes. Then, in the same run:

1. Fulcrum: ``--processes`` worker processes (an event loop and an SNMP engine each)
   run ``poll_snmp`` over their share of the devices, ``--concurrency`` polls in flight
   per process: one untimed warm-up round (rate baselines, table-size hints), then a
   timed round;
2. ``prometheus-snmp-exporter`` 0.21 with a hand-written ``snmp.yml`` (numeric OIDs,
   one module per device for its community) walks the same columns, scraped
   ``/snmp?target=…&module=dev<i>`` with ``--concurrency`` x processes scrapes in
   flight: one warm-up round, then a timed round.

Prints devices/minute, variable bindings per second and peak memory for both, and the
ratio. Issue targets: >= 10,000 devices/minute on 2 cores, >= 0.5x snmp_exporter.
Everything listens on 127.0.0.1; every process started here is stopped at the end.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))  # for tests.peers

import argparse
import asyncio
import multiprocessing as mp
import os
import re
import resource
import shutil
import tempfile
import time
from dataclasses import dataclass
from typing import Any

import httpx

from tests.peers.loopback import LOOPBACK, Daemon, child_env, free_port
from tests.peers.snmp import UdpAgent, free_udp_port, snmpsim_agent

INTERFACES = 10
IF_COLUMNS = (2, 3, 4, 5, 6, 7, 8, 10, 13, 14, 16, 19, 20)  # ifTable, as Fulcrum walks it
IFX_COLUMNS = (1, 6, 10, 15, 18, 19)  # ifXTable
STORAGE = (
    (1, "1.3.6.1.2.1.25.2.1.2", "Physical memory", 1024, 4_000_000, 2_100_000),
    (31, "1.3.6.1.2.1.25.2.1.4", "/", 4096, 5_000_000, 1_200_000),
    (32, "1.3.6.1.2.1.25.2.1.4", "/var", 4096, 1_000_000, 600_000),
)
CPUS = (196608, 196609)


# -- simulated devices ---------------------------------------------------------------
def _oid_key(line: str) -> tuple[int, ...]:
    return tuple(int(part) for part in line.split("|", 1)[0].split("."))


def device_snmprec(number: int) -> str:
    """One bench device: what the issue lists, counters as snmpsim ``numeric``."""
    lines = [
        f"1.3.6.1.2.1.1.1.0|4|Bench router {number}, Software Version 1.0",
        "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.2011.2.224.67",
        "1.3.6.1.2.1.1.3.0|67:numeric|rate=100,initial=0",
        f"1.3.6.1.2.1.1.5.0|4|bench-{number}",
        f"1.3.6.1.2.1.2.1.0|2|{INTERFACES}",
    ]
    for i in range(1, INTERFACES + 1):
        rate = 100_000 * i
        entry = "1.3.6.1.2.1.2.2.1"
        lines += [
            f"{entry}.1.{i}|2|{i}",
            f"{entry}.2.{i}|4|GigabitEthernet0/0/{i}",
            f"{entry}.3.{i}|2|6",
            f"{entry}.4.{i}|2|1500",
            f"{entry}.5.{i}|66|1000000000",
            f"{entry}.6.{i}|4x|00e0fc{number % 65536:04x}{i:02x}",
            f"{entry}.7.{i}|2|1",
            f"{entry}.8.{i}|2|1",
            f"{entry}.10.{i}|65:numeric|rate={rate},initial=0,wrap=1",
            f"{entry}.13.{i}|65|0",
            f"{entry}.14.{i}|65|0",
            f"{entry}.16.{i}|65:numeric|rate={2 * rate},initial=0,wrap=1",
            f"{entry}.19.{i}|65|0",
            f"{entry}.20.{i}|65|0",
        ]
        xentry = "1.3.6.1.2.1.31.1.1.1"
        lines += [
            f"{xentry}.1.{i}|4|GE0/0/{i}",
            f"{xentry}.6.{i}|70:numeric|rate={rate},initial=0",
            f"{xentry}.10.{i}|70:numeric|rate={2 * rate},initial=0",
            f"{xentry}.15.{i}|66|1000",
            f"{xentry}.18.{i}|4|link {i}",
            f"{xentry}.19.{i}|67|0",
        ]
    for index, kind, descr, units, size, used in STORAGE:
        entry = "1.3.6.1.2.1.25.2.3.1"
        lines += [
            f"{entry}.1.{index}|2|{index}",
            f"{entry}.2.{index}|6|{kind}",
            f"{entry}.3.{index}|4|{descr}",
            f"{entry}.4.{index}|2|{units}",
            f"{entry}.5.{index}|2|{size}",
            f"{entry}.6.{index}|2|{used}",
        ]
    lines += [f"1.3.6.1.2.1.25.3.3.1.2.{cpu}|2|{20 + number % 50}" for cpu in CPUS]
    lines.sort(key=_oid_key)
    return "\n".join(lines) + "\n"


# -- Fulcrum workers -----------------------------------------------------------------
@dataclass
class WorkerReport:
    devices: int
    failures: int
    varbinds: int
    seconds: float
    peak_rss_mb: float
    warmup_seconds: float
    cpu_seconds: float


def _worker(
    devices: list[tuple[int, int]],
    concurrency: int,
    timeout: float,
    start: Any,
    ready: Any,
    out: Any,
) -> None:
    from pydantic import SecretStr

    from collectors.errors import CollectorError
    from collectors.snmp import RateState, SnmpTarget, close_engine_for_loop, poll_snmp

    targets = [
        SnmpTarget(
            host=LOOPBACK,
            port=port,
            community=SecretStr(f"dev{number}"),
            timeout=timeout,
            retries=1,
            external_id=f"bench-{number}",
        )
        for number, port in devices
    ]
    state = RateState()

    async def round_() -> tuple[int, int]:
        gate = asyncio.Semaphore(concurrency)
        varbinds = failures = 0

        async def one(target: SnmpTarget) -> None:
            nonlocal varbinds, failures
            async with gate:
                try:
                    result = await poll_snmp(target, state)
                except CollectorError:
                    failures += 1
                    return
            varbinds += int(
                next(s.value for s in result.samples if s.metric == "snmp_poll_varbinds")
            )

        await asyncio.gather(*(one(t) for t in targets))
        return varbinds, failures

    async def main() -> WorkerReport:
        try:
            began = time.perf_counter()
            await round_()  # warm-up: engine, per-target config, baselines, hints
            warmup = time.perf_counter() - began
            ready.put(os.getpid())
            await asyncio.get_running_loop().run_in_executor(None, start.wait)
            began, cpu = time.perf_counter(), time.process_time()
            varbinds, failures = await round_()
            seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
        finally:
            close_engine_for_loop()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return WorkerReport(len(targets), failures, varbinds, seconds, peak, warmup, cpu)

    out.put(asyncio.run(main()))


def run_fulcrum(
    devices: list[tuple[int, int]],
    processes: int,
    concurrency: int,
    timeout: float,
    sims: list[UdpAgent],
) -> tuple[list[WorkerReport], float, float]:
    ctx = mp.get_context("spawn")
    start, ready, out = ctx.Event(), ctx.Queue(), ctx.Queue()
    shares = [devices[i::processes] for i in range(processes)]
    workers = [
        ctx.Process(target=_worker, args=(share, concurrency, timeout, start, ready, out))
        for share in shares
    ]
    for worker in workers:
        worker.start()
    try:
        for _ in workers:
            ready.get(timeout=3600)
        sim_cpu = sum(cpu_seconds(agent.pid) for agent in sims)
        began = time.perf_counter()
        start.set()
        reports = [out.get(timeout=3600) for _ in workers]
        wall = time.perf_counter() - began
        sim_cpu = sum(cpu_seconds(agent.pid) for agent in sims) - sim_cpu
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.kill()
    return reports, wall, sim_cpu


# -- snmp_exporter -------------------------------------------------------------------
def exporter_config(numbers: list[int], timeout: float) -> str:
    """snmp.yml (0.21 format, auth inside the module): one module per device, sharing
    the walk and metric lists through YAML anchors."""
    walk = [f"1.3.6.1.2.1.2.2.1.{c}" for c in IF_COLUMNS]
    walk += [f"1.3.6.1.2.1.31.1.1.1.{c}" for c in IFX_COLUMNS]
    walk += ["1.3.6.1.2.1.25.3.3.1.2"] + [f"1.3.6.1.2.1.25.2.3.1.{c}" for c in (2, 3, 4, 5, 6)]
    index = "        indexes: [{labelname: ifIndex, type: gauge}]"
    hr_index = "        indexes: [{labelname: hrIndex, type: gauge}]"
    types = {2: "DisplayString", 6: "PhysAddress48", 10: "counter", 16: "counter"}
    xtypes = {1: "DisplayString", 6: "counter", 10: "counter", 18: "DisplayString"}
    metrics: list[str] = []
    for column in IF_COLUMNS:
        kind = types.get(column, "gauge" if column < 10 else "counter")
        metrics += [f"      - name: if_{column}", f"        oid: 1.3.6.1.2.1.2.2.1.{column}"]
        metrics += [f"        type: {kind}", index]
    for column in IFX_COLUMNS:
        kind = xtypes.get(column, "gauge")
        metrics += [f"      - name: ifx_{column}", f"        oid: 1.3.6.1.2.1.31.1.1.1.{column}"]
        metrics += [f"        type: {kind}", index]
    metrics += [
        "      - name: hrProcessorLoad",
        "        oid: 1.3.6.1.2.1.25.3.3.1.2",
        "        type: gauge",
        hr_index,
    ]
    for column in (4, 5, 6):
        metrics += [
            f"      - name: hrStorage_{column}",
            f"        oid: 1.3.6.1.2.1.25.2.3.1.{column}",
        ]
        metrics += ["        type: gauge", hr_index]
    metrics += [
        "      - name: hrStorageDescr",
        "        oid: 1.3.6.1.2.1.25.2.3.1.3",
        "        type: DisplayString",
        hr_index,
        "      - name: sysUpTime",
        "        oid: 1.3.6.1.2.1.1.3",
        "        type: gauge",
        "      - name: sysName",
        "        oid: 1.3.6.1.2.1.1.5",
        "        type: DisplayString",
        "      - name: sysDescr",
        "        oid: 1.3.6.1.2.1.1.1",
        "        type: DisplayString",
    ]
    gets = ["1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.1.5.0"]
    # 0.21: the top level maps module names to modules (no "modules:" key yet).
    first = numbers[0]
    out = [
        f"dev{first}:",
        "  version: 2",
        "  max_repetitions: 25",
        "  retries: 1",
        f"  timeout: {timeout}s",
        f"  auth: {{community: dev{first}}}",
        "  get: &get",
        *[f"    - {oid}" for oid in gets],
        "  walk: &walk",
        *[f"    - {oid}" for oid in walk],
        "  metrics: &metrics",
        *[line[2:] for line in metrics],
    ]
    for number in numbers[1:]:
        out += [
            f"dev{number}:",
            "  version: 2",
            "  max_repetitions: 25",
            "  retries: 1",
            f"  timeout: {timeout}s",
            f"  auth: {{community: dev{number}}}",
            "  get: *get",
            "  walk: *walk",
            "  metrics: *metrics",
        ]
    return "\n".join(out) + "\n"


_PDUS = re.compile(r"^snmp_scrape_pdus_returned (\S+)$", re.MULTILINE)


async def scrape_all(
    url: str, devices: list[tuple[int, int]], concurrency: int, timeout: float
) -> tuple[int, int, float]:
    gate = asyncio.Semaphore(concurrency)
    varbinds = failures = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=timeout, limits=limits, trust_env=False) as client:

        async def one(number: int, port: int) -> None:
            nonlocal varbinds, failures
            async with gate:
                answer = await client.get(
                    url, params={"target": f"{LOOPBACK}:{port}", "module": f"dev{number}"}
                )
            found = _PDUS.search(answer.text)
            if answer.status_code != 200 or found is None or "ifx_1" not in answer.text:
                failures += 1
                return
            varbinds += int(float(found.group(1)))

        began = time.perf_counter()
        await asyncio.gather(*(one(n, p) for n, p in devices))
        return varbinds, failures, time.perf_counter() - began


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU a live process used so far (from /proc)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int | None) -> float:
    if pid is None:
        return float("nan")
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_exporter(
    workdir: Path,
    devices: list[tuple[int, int]],
    concurrency: int,
    timeout: float,
    sims: list[UdpAgent],
) -> dict[str, float]:
    binary = shutil.which("prometheus-snmp-exporter")
    if binary is None:
        raise SystemExit("prometheus-snmp-exporter is not installed (scripts/ensure-peers.sh)")
    config = workdir / "snmp.yml"
    config.write_text(exporter_config([n for n, _ in devices], timeout))
    port = free_port()
    exporter = Daemon(
        "snmp_exporter",
        [
            binary,
            f"--config.file={config}",
            f"--web.listen-address={LOOPBACK}:{port}",
            "--log.level=warn",
        ],
        log_path=workdir / "snmp_exporter.log",
        ready_url=f"http://{LOOPBACK}:{port}/metrics",
        env=child_env(),
        cwd=workdir,
        ready_timeout=120,
    )
    url = f"http://{LOOPBACK}:{port}/snmp"
    with exporter:
        asyncio.run(scrape_all(url, devices, concurrency, timeout * 4 + 30))  # warm-up
        cpu = cpu_seconds(exporter.pid)
        sim_cpu = sum(cpu_seconds(agent.pid) for agent in sims)
        varbinds, failures, seconds = asyncio.run(
            scrape_all(url, devices, concurrency, timeout * 4 + 30)
        )
        cpu = cpu_seconds(exporter.pid) - cpu
        sim_cpu = sum(cpu_seconds(agent.pid) for agent in sims) - sim_cpu
        peak = peak_rss_mb(exporter.pid)
    return {
        "seconds": seconds,
        "varbinds": varbinds,
        "failures": failures,
        "peak_mb": peak,
        "cpu": cpu,
        "sim_cpu": sim_cpu,
    }


# -- main ----------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="100 devices, a quick look")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--sim-processes", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=32, help="per Fulcrum process")
    parser.add_argument("--timeout", type=float, default=5.0, help="per SNMP attempt, s")
    parser.add_argument("--no-exporter", action="store_true")
    args = parser.parse_args()
    count = 100 if args.quick else args.devices

    workdir = Path(tempfile.mkdtemp(prefix="fulcrum-snmp-bench-"))
    agents: list[UdpAgent] = []
    try:
        data = workdir / "data"
        data.mkdir()
        for number in range(count):
            (data / f"dev{number}.snmprec").write_text(device_snmprec(number))
        print(f"{count} devices, {args.sim_processes} snmpsim process(es); indexing…", flush=True)
        began = time.perf_counter()
        for number in range(args.sim_processes):
            own = workdir / f"sim{number}"
            own.mkdir()
            agent = snmpsim_agent(data, own, free_udp_port(), "dev0")
            agent.ready_timeout = 1800.0
            agents.append(agent)
        _start_all(agents)
        print(f"simulators ready in {time.perf_counter() - began:.0f} s", flush=True)
        devices = [(n, agents[n % len(agents)].port) for n in range(count)]

        reports, wall, sim_cpu = run_fulcrum(
            devices, args.processes, args.concurrency, args.timeout, agents
        )
        polled = sum(r.devices - r.failures for r in reports)
        failures = sum(r.failures for r in reports)
        varbinds = sum(r.varbinds for r in reports)
        fulcrum_rate = polled / wall * 60
        print()
        print(f"Fulcrum ({args.processes} processes x {args.concurrency} in flight)")
        print(
            f"  devices/minute   {fulcrum_rate:10,.0f}   ({polled} polled, {failures} failed,"
            f" {wall:.1f} s; warm-up {max(r.warmup_seconds for r in reports):.1f} s)"
        )
        print(
            f"  varbinds/s       {varbinds / wall:10,.0f}   ({varbinds / max(polled, 1):.0f}"
            " per device)"
        )
        print(
            f"  peak memory      {sum(r.peak_rss_mb for r in reports):10,.0f} MB"
            f"   (per process: {', '.join(f'{r.peak_rss_mb:.0f}' for r in reports)})"
        )
        client_cpu = sum(r.cpu_seconds for r in reports)
        print(
            f"  client CPU       {client_cpu / max(polled, 1) * 1000:10.1f} ms per device"
            f"   (=> {polled / max(client_cpu, 1e-9) * 60:,.0f} devices/min per core"
            " if the agents ran elsewhere)"
        )
        print(f"  snmpsim CPU      {sim_cpu / max(polled, 1) * 1000:10.1f} ms per device")
        if args.no_exporter:
            return
        found = run_exporter(
            workdir, devices, args.concurrency * args.processes, args.timeout, agents
        )
        ok = count - found["failures"]
        exporter_rate = ok / found["seconds"] * 60
        print()
        print(f"snmp_exporter 0.21 ({args.concurrency * args.processes} scrapes in flight)")
        print(
            f"  devices/minute   {exporter_rate:10,.0f}   ({ok:.0f} scraped,"
            f" {found['failures']:.0f} failed, {found['seconds']:.1f} s)"
        )
        print(
            f"  varbinds/s       {found['varbinds'] / found['seconds']:10,.0f}"
            f"   ({found['varbinds'] / max(ok, 1):.0f} per device)"
        )
        print(f"  peak memory      {found['peak_mb']:10,.0f} MB")
        print(
            f"  exporter CPU     {found['cpu'] / max(ok, 1) * 1000:10.1f} ms per device;"
            f" snmpsim CPU {found['sim_cpu'] / max(ok, 1) * 1000:.1f} ms per device"
        )
        print()
        ratio = fulcrum_rate / exporter_rate if exporter_rate else float("nan")
        print(f"ratio Fulcrum / snmp_exporter: {ratio:.2f} (target >= 0.5)")
        print(f"target 10,000 devices/minute: {'met' if fulcrum_rate >= 10_000 else 'NOT met'}")
    finally:
        for agent in agents:
            agent.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _start_all(agents: list[UdpAgent]) -> None:
    """Start every simulator, then wait for each (they index their data in parallel)."""
    import subprocess

    try:
        for agent in agents:
            with agent.log_path.open("ab") as log:
                agent.process = subprocess.Popen(
                    agent.argv,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=agent.env,
                    cwd=agent.cwd,
                    start_new_session=True,
                )
        for agent in agents:
            agent.wait_ready()
    except BaseException:
        for agent in agents:
            agent.stop()
        raise


if __name__ == "__main__":
    main()
