# ruff: noqa: E402  (bench/ must leave sys.path before the project's imports)
"""Alert ingestion: Alertmanager v4 webhooks into ``fulcrum serve``, against Alerta 9.1.

    .venv/bin/python bench/alert_ingest.py [--quick] [--skip-peer] [--databases sqlite,postgresql]

For each batch size (1 and 20 alerts per post) and each database (SQLite, PostgreSQL)
it starts ``fulcrum serve`` on a fresh, migrated database holding 5,000 CIs (20 township
routers, 500 clinic CPEs ``connected_to`` them, 4,480 standalone hosts), makes an
``alert_source`` token with ``fulcrum token create``, and has 8 concurrent senders post
the workload: 35,000 fingerprints (7 per CI, bound by their ``ci`` label) firing, 20 %
of them repeated later in other posts, 30 % resolved, in a shuffled order — so
de-duplication, CMDB binding, same-CI and upstream correlation (a router's incident
adopting its CPEs') and incident creation are all in the figure. It prints alerts/s and
p50/p99 latency per post, then checks the database holds every fingerprint. The bench
does not retry a 5xx as Alertmanager would: an error is counted, and its alerts are
then missing from that check.

In the same run the same payloads go to the peer, Alerta 9.1 (``alerta-server``), on the
local PostgreSQL at ``/webhooks/prometheus``, served by gunicorn (4 workers) with its
shipped plugins. Alerta is never installed into the project's venv: the bench makes
``.bench/alerta-venv`` (git-ignored) with ``pip install alerta-server psycopg2-binary
gunicorn``, a fresh database ``alerta_bench`` per run, and drops both the database and
the server afterwards. Alerta at ~110 alerts/s would need 8 minutes for the one-per-post
workload, so it gets the first ``--peer-max-posts`` posts of the same stream (default
6,000; the stream is shuffled, so its prefix has the same mix). Target: Fulcrum at
least 10x Alerta's alerts/s.

Flags: ``--quick`` (100 CIs, 700 fingerprints: a smoke run), ``--skip-peer``,
``--pg-url`` (a PostgreSQL server URL; default ``FULCRUM_BENCH_PG_URL`` or
``postgresql://postgres@127.0.0.1:5432/postgres``), ``--senders``, ``--batches 1,20``,
``--databases sqlite,postgresql``, ``--max-seconds`` (stop a run's senders after that
long and say so: a bound, so a slow build cannot hang the bench), ``--peer-workers``.
Server logs of the last run are kept in ``.bench/logs/``.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/itsm_core.py shares its name with the package: keep bench/ off the path, and put
# the repository root on it for the test peers' helpers (tests/peers).
_HERE = Path(__file__).resolve().parent
_ROOT = _HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_ROOT))

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import Engine, make_url

from alerting.intake_models import Alert
from itsm_core.cmdb.models import CIRelationship, ConfigurationItem
from itsm_core.incidents.models import Incident
from itsm_core.timeutil import utcnow
from tests.peers.am_payloads import am_alert, fingerprint, notification
from tests.peers.fulcrum_server import create_token, fulcrum, running_fulcrum
from tests.peers.loopback import LOOPBACK, Daemon, child_env, free_port

ALERT_NAMES = (
    "LinkDown",
    "HighLatency",
    "PacketLoss",
    "CpuHigh",
    "MemoryHigh",
    "DiskFull",
    "InterfaceErrors",
)
ROUTERS = 20
ALERTA_VENV = _ROOT / ".bench" / "alerta-venv"
ALERTA_DB = "alerta_bench"
LOGS = _ROOT / ".bench" / "logs"  # the servers' logs of the last run, for a look after
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


# -- the workload --------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Event:
    labels: dict[str, str]
    status: str
    starts_at: datetime
    ends_at: datetime | None


@dataclass(frozen=True, slots=True)
class Post:
    body: bytes
    alerts: int


def ci_names(count: int) -> list[str]:
    """Township routers, the clinic CPEs behind them (10 % of all), and standalone CIs."""
    routers = min(ROUTERS, max(1, count // 50))
    cpes = count // 10
    return (
        [f"router-{i:03d}" for i in range(routers)]
        + [f"cpe-{i:05d}" for i in range(cpes)]
        + [f"host-{i:05d}" for i in range(count - routers - cpes)]
    )


def build_events(
    cis: list[str], fingerprints: int, repeat_share: float, resolve_share: float, seed: int
) -> list[Event]:
    """Every fingerprint fires once; some repeat, some resolve — interleaved at random."""
    rng = random.Random(seed)
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    keyed: list[tuple[float, Event]] = []
    for n in range(fingerprints):
        ci = cis[n % len(cis)]
        name = ALERT_NAMES[(n // len(cis)) % len(ALERT_NAMES)]
        labels = {
            "alertname": name,
            "ci": ci,
            "instance": f"{ci}:9100",
            "job": "blackbox",
            "severity": rng.choice(("critical", "warning", "warning", "major")),
            "site": f"township-{n % ROUTERS:02d}",
        }
        starts = base + timedelta(seconds=n % 3000)
        fired = rng.random()
        resolved = rng.random() < resolve_share
        resolves_at = fired + (1 - fired) * rng.random() if resolved else 1.0
        keyed.append((fired, Event(labels, "firing", starts, None)))
        if rng.random() < repeat_share:
            keyed.append(
                (
                    fired + (resolves_at - fired) * rng.random(),
                    Event(labels, "firing", starts, None),
                )
            )
        if resolved:
            ends = starts + timedelta(minutes=rng.randint(1, 30))
            keyed.append((resolves_at, Event(labels, "resolved", starts, ends)))
    keyed.sort(key=lambda pair: pair[0])
    return [event for _, event in keyed]


def build_posts(events: list[Event], batch: int) -> list[Post]:
    """Consecutive events, ``batch`` per post, never one fingerprint twice in a post."""
    posts: list[Post] = []
    current: list[dict[str, Any]] = []
    seen: set[str] = set()

    def flush() -> None:
        if current:
            names = {a["labels"]["alertname"] for a in current}
            group = {"alertname": names.pop()} if len(names) == 1 else {}
            body = json.dumps(notification(current, group_labels=group)).encode()
            posts.append(Post(body, len(current)))
            current.clear()
            seen.clear()

    for event in events:
        fp = fingerprint(event.labels)
        if fp in seen:
            flush()
        current.append(
            am_alert(
                event.labels,
                status=event.status,
                starts_at=event.starts_at,
                ends_at=event.ends_at,
                annotations={"summary": f"{event.labels['alertname']} on {event.labels['ci']}"},
            )
        )
        seen.add(fp)
        if len(current) >= batch:
            flush()
    flush()
    return posts


# -- the senders ---------------------------------------------------------------------
@dataclass
class Run:
    posts: int = 0
    alerts: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    wall: float = 0.0
    cut_short: bool = False  # --max-seconds ran out before the last post

    def rate(self) -> float:
        return self.alerts / self.wall if self.wall else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


class LeanHttp:
    """HTTP/1.1 POSTs over one kept-alive connection, on bare asyncio streams.

    httpx tops out near 500 requests/s on this machine — below the rate being measured —
    so the senders speak just enough HTTP/1.1 themselves: Content-Length or chunked
    bodies, and a reconnect when the server says ``Connection: close`` (gunicorn's sync
    workers do). Both servers get the very same client.
    """

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        parsed = httpx.URL(url)
        self.host = parsed.host
        self.port = parsed.port or 80
        self.path = parsed.raw_path.decode()
        self.head = "".join(
            f"{k}: {v}\r\n"
            for k, v in {
                "Host": f"{self.host}:{self.port}",
                "Content-Type": "application/json",
                "User-Agent": "Alertmanager/0.25.0",
                **headers,
            }.items()
        )
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, body: bytes) -> int:
        try:
            return await asyncio.wait_for(self._post(body), timeout=60)
        except BaseException:
            await self.close()
            raise

    async def _post(self, body: bytes) -> int:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._reader, self._writer
        assert reader is not None
        request = f"POST {self.path} HTTP/1.1\r\n{self.head}Content-Length: {len(body)}\r\n\r\n"
        writer.write(request.encode() + body)
        await writer.drain()
        status_line = await reader.readline()
        if not status_line:
            raise ConnectionResetError("the server closed the connection without an answer")
        status = int(status_line.split(b" ", 2)[1])
        length, chunked, close = 0, False, False
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value:
                chunked = True
            elif name == "connection" and value == "close":
                close = True
        if chunked:
            while size := int((await reader.readline()).split(b";")[0], 16):
                await reader.readexactly(size + 2)
            await reader.readline()
        elif length:
            await reader.readexactly(length)
        if close:
            await self.close()
        return status

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
        self._reader = self._writer = None


async def _send_all(
    url: str, headers: dict[str, str], posts: list[Post], senders: int, limit: float
) -> Run:
    run = Run()
    cursor = iter(range(len(posts)))
    stop_at = time.perf_counter() + limit

    async def sender() -> None:
        client = LeanHttp(url, headers)
        try:
            for index in cursor:
                post = posts[index]
                began = time.perf_counter()
                if began > stop_at:
                    run.cut_short = True
                    break
                try:
                    outcome = str(await client.post(post.body))
                except (
                    OSError,
                    asyncio.IncompleteReadError,
                    TimeoutError,
                    ValueError,
                    IndexError,
                ) as exc:
                    outcome = type(exc).__name__
                run.latencies.append(time.perf_counter() - began)
                run.posts += 1
                if outcome.startswith("2"):
                    run.alerts += post.alerts
                else:
                    run.errors[outcome] = run.errors.get(outcome, 0) + 1
        finally:
            await client.close()

    began = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(senders)))
    run.wall = time.perf_counter() - began
    return run


def send_all(
    url: str, headers: dict[str, str], posts: list[Post], senders: int, limit: float
) -> Run:
    return asyncio.run(_send_all(url, headers, posts, senders, limit))


# -- Fulcrum on a fresh database -----------------------------------------------------
@contextmanager
def fresh_database(kind: str, pg_url: str, workdir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:6]}.db'}"
        return
    base = make_url(pg_url).set(drivername="postgresql+psycopg")
    name = f"fulcrum_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(drivername="postgresql", database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed)


def load_cmdb(url: str, names: list[str]) -> None:
    """Bulk-insert the CIs: routers, CPEs ``connected_to`` a router each, and hosts."""
    now = utcnow()
    routers = [n for n in names if n.startswith("router-")]
    cpes = [n for n in names if n.startswith("cpe-")]
    rows = [
        {
            "id": i + 1,
            "name": name,
            "ci_class": "network_device",
            "criticality": "normal",
            "lifecycle": "active",
            "tags": [],
            "attributes": {},
            "source": "bench",
            "external_id": name,
            "description": "",
            "created_at": now,
            "updated_at": now,
        }
        for i, name in enumerate(names)
    ]
    rels = [
        {
            "source_id": i + 1,
            "target_id": 1 + (i % len(routers)),
            "relation": "connected_to",
            "redundant": False,
            "created_at": now,
        }
        for i in range(len(routers), len(routers) + len(cpes))
    ]
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(insert(ConfigurationItem), rows)
            if rels:
                conn.execute(insert(CIRelationship), rels)
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT setval('cis_id_seq', (SELECT max(id) FROM cis))"))
    finally:
        engine.dispose()


def check_fulcrum(url: str, fingerprints: int) -> str:
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            alerts = conn.scalar(select(func.count()).select_from(Alert)) or 0
            bound = conn.scalar(
                select(func.count()).select_from(Alert).where(Alert.ci_id.is_not(None))
            )
            incidents = conn.scalar(select(func.count()).select_from(Incident)) or 0
    finally:
        engine.dispose()
    verdict = "ok" if alerts == fingerprints else f"MISMATCH (expected {fingerprints})"
    return f"alerts stored {alerts} ({verdict}), bound to a CI {bound}, incidents {incidents}"


def bench_fulcrum(
    kind: str,
    pg_url: str,
    names: list[str],
    posts: list[Post],
    senders: int,
    fps: int,
    limit: float,
    label: str,
) -> Run:
    with (
        tempfile.TemporaryDirectory(prefix="fulcrum-bench-") as tmp,
        fresh_database(kind, pg_url, Path(tmp)) as url,
    ):
        fulcrum(url, "db", "upgrade")
        load_cmdb(url, names)
        token = create_token(url, "bench-alertmanager", "alert_source")
        try:
            with running_fulcrum(Path(tmp), url) as server:
                run = send_all(
                    f"{server.url}/api/v1/webhooks/alertmanager",
                    {"Authorization": f"Bearer {token}"},
                    posts,
                    senders,
                    limit,
                )
        finally:
            _keep_log(Path(tmp) / "fulcrum-serve.log", f"fulcrum-{kind}-{label}.log")
        if not run.cut_short:
            print(f"    {check_fulcrum(url, fps)}", flush=True)
        return run


def _keep_log(path: Path, name: str) -> None:
    LOGS.mkdir(parents=True, exist_ok=True)
    if path.exists():
        shutil.copyfile(path, LOGS / name)


# -- Alerta 9.1 ----------------------------------------------------------------------
def ensure_alerta_venv() -> Path:
    python = ALERTA_VENV / "bin" / "python"
    if not python.exists():
        print(f"  creating {ALERTA_VENV} (alerta-server 9.1, psycopg2-binary, gunicorn)")
        subprocess.run([sys.executable, "-m", "venv", str(ALERTA_VENV)], check=True)
    probe = subprocess.run(
        [str(python), "-c", "import alerta, psycopg2, gunicorn"], capture_output=True, check=False
    )
    if probe.returncode != 0:
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                "alerta-server==9.1.*",
                "psycopg2-binary",
                "gunicorn",
            ],
            check=True,
            timeout=900,
        )
    return python


@contextmanager
def running_alerta(pg_url: str, workdir: Path, workers: int, label: str) -> Iterator[str]:
    python = ensure_alerta_venv()
    admin = create_engine(
        make_url(pg_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{ALERTA_DB}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{ALERTA_DB}"'))
    database_url = make_url(pg_url).set(drivername="postgresql", database=ALERTA_DB)
    config = workdir / "alertad.conf"
    config.write_text(
        f"DATABASE_URL = {database_url.render_as_string(hide_password=False)!r}\n"
        f"DATABASE_NAME = {ALERTA_DB!r}\n"
        "AUTH_REQUIRED = False\n"
        "LOG_LEVEL = 'WARNING'\n"
        "SECRET_KEY = 'bench-only-not-a-secret'\n"
    )
    env = child_env(ALERTA_SVR_CONF_FILE=str(config))
    try:
        # Create the schema once, before several workers race to do it.
        subprocess.run(
            [str(python), "-c", "from alerta import create_app; create_app()"],
            env=env,
            check=True,
            timeout=120,
        )
        port = free_port()
        daemon = Daemon(
            "alerta",
            [
                str(python),
                "-m",
                "gunicorn",
                "--workers",
                str(workers),
                "--bind",
                f"{LOOPBACK}:{port}",
                "--log-level",
                "warning",
                "alerta:create_app()",
            ],
            log_path=workdir / "alerta.log",
            ready_url=f"http://{LOOPBACK}:{port}/management/healthcheck",
            env=env,
            cwd=workdir,
            ready_timeout=120,
        )
        with daemon:
            yield f"http://{LOOPBACK}:{port}"
    finally:
        _keep_log(workdir / "alerta.log", f"alerta-{label}.log")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{ALERTA_DB}" WITH (FORCE)'))
        admin.dispose()


def alerta_count(pg_url: str) -> int:
    engine = create_engine(
        make_url(pg_url).set(drivername="postgresql+psycopg", database=ALERTA_DB)
    )
    try:
        with engine.connect() as conn:
            return int(conn.scalar(text("SELECT count(*) FROM alerts")) or 0)
    finally:
        engine.dispose()


def bench_alerta(
    pg_url: str, posts: list[Post], senders: int, workers: int, limit: float, label: str
) -> Run:
    with tempfile.TemporaryDirectory(prefix="alerta-bench-") as tmp:
        with running_alerta(pg_url, Path(tmp), workers, label) as url:
            run = send_all(f"{url}/webhooks/prometheus", {}, posts, senders, limit)
            print(f"    alerta alerts stored {alerta_count(pg_url)}", flush=True)
        return run


# -- report --------------------------------------------------------------------------
def line(label: str, run: Run) -> str:
    errors = f"  errors {run.errors}" if run.errors else ""
    if run.cut_short:
        errors += "  (cut short by --max-seconds)"
    return (
        f"  {label:<26} {run.rate():9.1f} alerts/s  p50 {run.percentile(0.50):7.1f} ms  "
        f"p99 {run.percentile(0.99):7.1f} ms  ({run.alerts} alerts in {run.posts} posts, "
        f"{run.wall:.1f} s){errors}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run")
    parser.add_argument("--skip-peer", action="store_true", help="do not run Alerta")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--batches", default="1,20")
    parser.add_argument("--pg-url", default=os.environ.get("FULCRUM_BENCH_PG_URL", DEFAULT_PG))
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--cis", type=int, default=None)
    parser.add_argument("--fingerprints", type=int, default=None)
    parser.add_argument("--peer-max-posts", type=int, default=None)
    parser.add_argument("--peer-workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--max-seconds", type=float, default=900.0, help="stop one run's senders after this"
    )
    args = parser.parse_args()

    cis = args.cis or (100 if args.quick else 5_000)
    fps = args.fingerprints or (700 if args.quick else 35_000)
    peer_max = args.peer_max_posts or (300 if args.quick else 6_000)
    names = ci_names(cis)
    events = build_events(names, fps, repeat_share=0.2, resolve_share=0.3, seed=args.seed)
    counts = {s: sum(e.status == s for e in events) for s in ("firing", "resolved")}
    print(
        f"workload: {len(names)} CIs ({sum(n.startswith('router') for n in names)} routers, "
        f"{sum(n.startswith('cpe') for n in names)} CPEs behind them), "
        f"{fps} fingerprints, {len(events)} alert events "
        f"({counts['firing']} firing incl. repeats, {counts['resolved']} resolved), "
        f"{args.senders} concurrent senders",
        flush=True,
    )
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    results: dict[tuple[int, str], Run] = {}
    for batch in (int(b) for b in args.batches.split(",")):
        posts = build_posts(events, batch)
        print(f"\nbatch of {batch}: {len(posts)} posts", flush=True)
        for kind in databases:
            run = bench_fulcrum(
                kind,
                args.pg_url,
                names,
                posts,
                args.senders,
                fps,
                args.max_seconds,
                f"batch{batch}",
            )
            results[(batch, kind)] = run
            print(line(f"fulcrum / {kind}", run), flush=True)
        if not args.skip_peer:
            peer_posts = posts[:peer_max]
            run = bench_alerta(
                args.pg_url,
                peer_posts,
                args.senders,
                args.peer_workers,
                args.max_seconds,
                f"batch{batch}",
            )
            results[(batch, "alerta")] = run
            print(line("alerta 9.1 / postgresql", run), flush=True)
            for kind in databases:
                ours = results[(batch, kind)].rate()
                ratio = ours / run.rate() if run.rate() else float("inf")
                verdict = "meets" if ratio >= 10 else "BELOW"
                print(f"  ratio fulcrum/{kind} : alerta = {ratio:.1f}x ({verdict} the 10x target)")
    if not args.skip_peer:
        print(f"\n(alerta got the first {peer_max} posts of each stream)")


if __name__ == "__main__":
    main()
