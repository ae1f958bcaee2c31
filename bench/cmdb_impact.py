# ruff: noqa: E402  (bench/ must leave sys.path before the project's imports)
"""Impact analysis from a core switch, depth 6, in a 20,000-CI county estate.

    .venv/bin/python bench/cmdb_impact.py [--url sqlite:///bench.db|postgresql://…] [--runs 50]

Builds (into a fresh database, migrated to head) the estate of seed 000 scaled to
``--cis``: a data centre with two core switches, hypervisor nodes, VMs, databases,
applications and business services; 19 township routers ``connected_to`` core-1, 1,559
village-clinic CPEs ``connected_to`` their township router, every device with its
interfaces ``part_of`` it. Then it times ``impact(core-1, downstream, depth 6)`` — the
domain call and the HTTP endpoint — and prints p50/p95/max. Target: p95 < 100 ms.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/itsm_core.py shares its name with the package: keep bench/ off the path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import Engine, make_url

from api.app import create_app
from itsm_core import migrate
from itsm_core.actor import SYSTEM
from itsm_core.cmdb.choices import Direction
from itsm_core.cmdb.impact import impact
from itsm_core.cmdb.models import CIRelationship, ConfigurationItem
from itsm_core.db import make_engine, make_session_factory
from itsm_core.people import service as people
from itsm_core.people.roles import Role
from itsm_core.settings import Settings
from itsm_core.timeutil import utcnow

TOWNSHIPS = 19
CLINICS = 1559


class _Builder:
    def __init__(self) -> None:
        self.cis: list[dict[str, Any]] = []
        self.rels: list[dict[str, Any]] = []

    def ci(self, ci_class: str, name: str, **extra: Any) -> int:
        now = utcnow()
        self.cis.append(
            {
                "id": len(self.cis) + 1,
                "name": name,
                "ci_class": ci_class,
                "criticality": extra.pop("criticality", "normal"),
                "lifecycle": "active",
                "tags": [],
                "attributes": {},
                "source": "bench",
                "external_id": name,
                "description": "",
                "created_at": now,
                "updated_at": now,
                **extra,
            }
        )
        return len(self.cis)

    def rel(self, source: int, relation: str, target: int) -> None:
        self.rels.append(
            {
                "source_id": source,
                "target_id": target,
                "relation": relation,
                "redundant": False,
                "created_at": utcnow(),
            }
        )

    def interfaces(self, device: int, prefix: str, count: int) -> None:
        for i in range(1, count + 1):
            self.rel(self.ci("interface", f"{prefix}/if{i}"), "part_of", device)


def build_estate(engine: Engine, total: int = 20_000) -> int:
    """Insert the estate; return the id of core-1."""
    b = _Builder()
    dc = b.ci("site", "county-dc")
    core1 = b.ci("network_device", "core-1", site_id=dc, criticality="high")
    core2 = b.ci("network_device", "core-2", site_id=dc, criticality="high")
    b.interfaces(core1, "core-1", 48)
    b.interfaces(core2, "core-2", 48)
    nodes = []
    for n in range(12):
        node = b.ci("hypervisor_node", f"pve-{n:02d}", site_id=dc)
        b.rel(node, "connected_to", core1)
        b.interfaces(node, f"pve-{n:02d}", 4)
        nodes.append(node)
    vms = []
    for v in range(400):
        vm = b.ci("vm", f"vm-{v:03d}", site_id=dc)
        b.rel(vm, "runs_on", nodes[v % len(nodes)])
        vms.append(vm)
    dbs = [b.ci("database", f"db-{d:02d}", site_id=dc) for d in range(60)]
    for d, db in enumerate(dbs):
        b.rel(db, "runs_on", vms[d])
    apps = []
    for a in range(300):
        app = b.ci("application", f"app-{a:03d}", site_id=dc)
        b.rel(app, "runs_on", vms[60 + a])
        b.rel(app, "depends_on", dbs[a % len(dbs)])
        apps.append(app)
    for s in range(40):
        svc = b.ci("business_service", f"service-{s:02d}", criticality="clinical_critical")
        for a in range(s, len(apps), 40):
            b.rel(svc, "depends_on", apps[a])
    per_cpe = max(1, (total - len(b.cis) - TOWNSHIPS * 10 - CLINICS * 2) // CLINICS)
    for t in range(TOWNSHIPS):
        site = b.ci("site", f"township-{t:02d}")
        router = b.ci("network_device", f"township-router-{t:02d}", site_id=site)
        b.rel(router, "connected_to", core1)
        b.interfaces(router, f"township-router-{t:02d}", 8)
        for c in range(t, CLINICS, TOWNSHIPS):
            clinic = b.ci("site", f"clinic-{c:04d}")
            cpe = b.ci("network_device", f"cpe-{c:04d}", site_id=clinic)
            b.rel(cpe, "connected_to", router)
            b.interfaces(cpe, f"cpe-{c:04d}", per_cpe)
    with engine.begin() as conn:
        conn.execute(insert(ConfigurationItem), b.cis)
        conn.execute(insert(CIRelationship), b.rels)
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT setval('cis_id_seq', (SELECT max(id) FROM cis))"))
            conn.execute(text("ANALYZE"))
    print(f"estate: {len(b.cis)} CIs, {len(b.rels)} relationships")
    return core1


def _timed(label: str, runs: int, call: Callable[[], int]) -> None:
    call()  # warm up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        reached = call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[max(0, int(len(times) * 0.95) - 1)]
    print(
        f"{label:<44} reached {reached:>6}  p50 {statistics.median(times):6.1f} ms  "
        f"p95 {p95:6.1f} ms  max {times[-1]:6.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="A PostgreSQL server URL (default: a temporary SQLite)")
    parser.add_argument("--cis", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch) / 'bench.db'}"
        admin = None
        if args.url:
            base = make_url(args.url).set(drivername="postgresql+psycopg")
            name = f"fulcrum_bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(base, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = base.set(database=name).render_as_string(hide_password=False)
        settings = Settings({"database": {"url": url}})
        engine = make_engine(settings.database)
        try:
            migrate.upgrade(engine)
            core = build_estate(engine, args.cis)
            sessions = make_session_factory(engine)

            def domain() -> int:
                with sessions() as session:
                    return len(impact(session, core, Direction.DOWNSTREAM, 6).downstream)

            _timed(f"{engine.dialect.name}: impact() downstream depth 6", args.runs, domain)
            with sessions() as s, s.begin():
                user = people.create_user(s, SYSTEM, "bench", roles={Role.VIEWER})
                token = people.create_token(s, SYSTEM, user, Role.VIEWER).secret
            headers = {"Authorization": f"Bearer {token}"}
            with TestClient(create_app(settings, engine)) as client:

                def http() -> int:
                    url = f"/api/v1/cis/{core}/impact?direction=downstream&depth=6"
                    response = client.get(url, headers=headers)
                    response.raise_for_status()
                    return int(response.json()["total"]["downstream"])

                _timed(f"{engine.dialect.name}: GET …/impact depth 6", args.runs, http)
        finally:
            engine.dispose()
            if admin is not None:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()


if __name__ == "__main__":
    main()
