"""ITSM core at county scale: 20,000 CIs, 100,000 incidents, on SQLite and PostgreSQL.

    .venv/bin/python bench/itsm_core.py [--db sqlite|postgresql|both]
        [--pg-url postgresql://postgres@127.0.0.1:5432/test]
        [--cis 20000] [--incidents 100000] [--repeat 200]

Loads (SQLAlchemy Core bulk inserts into a fresh database migrated to head: a temporary
SQLite file, or a throw-away PostgreSQL database beside ``--pg-url``, dropped at the end)
seed 000's county network scaled to ``--cis`` and a year of incidents, then prints:

- p50/p95 of a filtered incident list page (50 rows) through the HTTP app, in process;
- p95 of ``impact(core-1, downstream, depth 6)``, a fresh session per run;
- SLA ``due_at`` computations per second on a Mon-Fri 08:00-12:00/13:30-17:30
  Asia/Shanghai calendar with PRC holidays;
- peak memory (max RSS of the process; ``--db both`` runs each database in its own).

Targets: list p95 < 50 ms, impact p95 < 100 ms, >= 50,000 SLA computations/s. This is a
benchmark, not a test: it reports, it never fails on a time.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file shares its name with the package it measures: keep bench/ off the path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from typing import Any  # noqa: E402
from zoneinfo import ZoneInfo  # noqa: E402

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import create_engine, insert, text  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402

from api.app import create_app  # noqa: E402
from itsm_core import migrate  # noqa: E402
from itsm_core.actor import SYSTEM  # noqa: E402
from itsm_core.cmdb.choices import Direction  # noqa: E402
from itsm_core.cmdb.impact import impact  # noqa: E402
from itsm_core.cmdb.models import CIRelationship, ConfigurationItem  # noqa: E402
from itsm_core.db import make_engine, make_session_factory  # noqa: E402
from itsm_core.incidents.choices import (  # noqa: E402
    IncidentKind,
    IncidentSource,
    IncidentState,
    Level,
    PendingReason,
    ResolutionCode,
)
from itsm_core.incidents.models import Incident, IncidentCI  # noqa: E402
from itsm_core.incidents.priority import DEFAULT_MATRIX  # noqa: E402
from itsm_core.people import service as people  # noqa: E402
from itsm_core.people.models import Group, GroupMember, User, UserRole  # noqa: E402
from itsm_core.people.roles import Role  # noqa: E402
from itsm_core.settings import Settings  # noqa: E402
from itsm_core.sla.calendar import BusinessCalendar  # noqa: E402
from itsm_core.sla.clock import due_at  # noqa: E402
from itsm_core.sla.definition import CalendarDefinition, WeekSchedule, hours  # noqa: E402

TOWNSHIPS = 19
CLINICS = 1559
NODES = 8
CHUNK = 5000
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime.now(UTC).replace(microsecond=0)
OPEN = [IncidentState.NEW, IncidentState.ASSIGNED, IncidentState.IN_PROGRESS]
OPEN_ALL = [*OPEN, IncidentState.PENDING]
# Group -> number of members; incidents land on the group that owns the CI class.
GROUPS = {"service-desk": 10, "network": 12, "systems": 8, "applications": 10, "vendor": 5}


# ---------------------------------------------------------------------------- estate


@dataclass
class Estate:
    """Rows to insert, and the CI ids by class for the incident generator."""

    cis: list[dict[str, Any]] = field(default_factory=list)
    rels: list[dict[str, Any]] = field(default_factory=list)
    by_kind: dict[str, list[int]] = field(default_factory=dict)
    core: int = 0

    def ci(self, kind: str, ci_class: str, name: str, **extra: Any) -> int:
        ci_id = len(self.cis) + 1
        self.cis.append(
            {
                "id": ci_id,
                "name": name,
                "ci_class": ci_class,
                "site_id": extra.get("site_id"),
                "owner_group_id": extra.get("owner_group_id"),
                "criticality": extra.get("criticality", "normal"),
                "lifecycle": "active",
                "tags": [],
                "attributes": {},
                "source": "bench",
                "external_id": name,
                "management_address": extra.get("address"),
                "description": "",
                "created_at": NOW - timedelta(days=400),
                "updated_at": NOW - timedelta(days=30),
                "last_seen_at": NOW,
            }
        )
        self.by_kind.setdefault(kind, []).append(ci_id)
        return ci_id

    def rel(self, source: int, relation: str, target: int, redundant: bool = False) -> None:
        self.rels.append(
            {
                "id": len(self.rels) + 1,
                "source_id": source,
                "target_id": target,
                "relation": relation,
                "redundant": redundant,
                "created_at": NOW - timedelta(days=400),
            }
        )

    def interfaces(self, device: int, prefix: str, count: int, group: int) -> None:
        for i in range(1, count + 1):
            iface = self.ci("interface", "interface", f"{prefix}/if{i}", owner_group_id=group)
            self.rel(iface, "part_of", device)


def build_estate(total: int, group_ids: dict[str, int]) -> Estate:
    """Seed 000's county network, CPE interfaces filling it up to ``total`` CIs.

    ``A connected_to B``: A (the downlink) depends on B. Township routers and hypervisor
    nodes are dual-homed (redundant ``connected_to`` both core switches), so losing
    core-1 degrades them and everything behind them rather than taking it down.
    """
    net, sys_, apps_ = group_ids["network"], group_ids["systems"], group_ids["applications"]
    e = Estate()
    dc = e.ci("site", "site", "county-dc")
    cores = []
    for c in (1, 2):
        core = e.ci(
            "core",
            "network_device",
            f"core-{c}",
            site_id=dc,
            owner_group_id=net,
            criticality="high",
            address=f"10.0.0.{c}",
        )
        e.interfaces(core, f"core-{c}", 48, net)
        cores.append(core)
    e.core = cores[0]
    nodes = []
    for n in range(NODES):
        node = e.ci(
            "node",
            "hypervisor_node",
            f"pve-{n:02d}",
            site_id=dc,
            owner_group_id=sys_,
            criticality="high",
            address=f"10.0.1.{n + 1}",
        )
        for core in cores:
            e.rel(node, "connected_to", core, redundant=True)
        e.interfaces(node, f"pve-{n:02d}", 4, sys_)
        nodes.append(node)
    vms = []
    for v in range(400):
        vm = e.ci("vm", "vm", f"vm-{v:03d}", site_id=dc, owner_group_id=sys_)
        e.rel(vm, "runs_on", nodes[v % NODES])
        vms.append(vm)
    dbs = []
    for d in range(60):
        db = e.ci("database", "database", f"db-{d:02d}", site_id=dc, owner_group_id=sys_)
        e.rel(db, "runs_on", vms[d])
        dbs.append(db)
    apps = []
    for a in range(300):
        app = e.ci("application", "application", f"app-{a:03d}", site_id=dc, owner_group_id=apps_)
        e.rel(app, "runs_on", vms[60 + a])
        e.rel(app, "depends_on", dbs[a % len(dbs)])
        apps.append(app)
    for s in range(40):
        critical = "clinical_critical" if s < 8 else "high"
        svc = e.ci(
            "service",
            "business_service",
            f"service-{s:02d}",
            owner_group_id=apps_,
            criticality=critical,
        )
        for a in range(s, len(apps), 40):
            e.rel(svc, "depends_on", apps[a])
    fixed = len(e.cis) + TOWNSHIPS * (2 + 8) + CLINICS * 2
    per_cpe, extra = divmod(max(0, total - fixed), CLINICS)
    for t in range(TOWNSHIPS):
        site = e.ci("site", "site", f"township-{t:02d}")
        router = e.ci(
            "router",
            "network_device",
            f"township-router-{t:02d}",
            site_id=site,
            owner_group_id=net,
            criticality="high",
            address=f"10.1.{t}.1",
        )
        for core in cores:
            e.rel(router, "connected_to", core, redundant=True)
        e.interfaces(router, f"township-router-{t:02d}", 8, net)
        for c in range(t, CLINICS, TOWNSHIPS):
            clinic = e.ci("site", "site", f"clinic-{c:04d}")
            cpe = e.ci(
                "cpe",
                "network_device",
                f"cpe-{c:04d}",
                site_id=clinic,
                owner_group_id=net,
                address=f"10.2.{c // 250}.{c % 250 + 1}",
            )
            e.rel(cpe, "connected_to", router)
            e.interfaces(cpe, f"cpe-{c:04d}", per_cpe + (1 if c < extra else 0), net)
    return e


# ---------------------------------------------------------------------------- people


def build_people(first_user_id: int) -> tuple[dict[str, Any], dict[str, list[int]]]:
    """Groups, users, roles and memberships; returns the rows and members per group."""
    rows: dict[str, list[dict[str, Any]]] = {"groups": [], "users": [], "roles": [], "members": []}
    members: dict[str, list[int]] = {}
    user_id = first_user_id
    for group_id, (name, size) in enumerate(GROUPS.items(), start=1):
        rows["groups"].append(
            {"id": group_id, "name": name, "description": "", "email": None, "created_at": NOW}
        )
        members[name] = []
        for i in range(size):
            username = f"{name}-{i:02d}"
            rows["users"].append(
                {
                    "id": user_id,
                    "username": username,
                    "display_name": username,
                    "email": f"{username}@county.example",
                    "phone": None,
                    "wecom_id": None,
                    "timezone": "Asia/Shanghai",
                    "locale": "zh-CN",
                    "active": True,
                    "created_at": NOW,
                }
            )
            role = Role.SERVICE_DESK if name == "service-desk" else Role.ENGINEER
            rows["roles"].append({"user_id": user_id, "role": role})
            rows["members"].append({"group_id": group_id, "user_id": user_id})
            members[name].append(user_id)
            user_id += 1
    return rows, members


# ---------------------------------------------------------------------------- incidents

# (estate kind, weight, owning group, title template)
CI_MIX = [
    ("cpe", 40, "network", "{} 村卫生室网络中断"),
    ("application", 18, "applications", "{} 报错/无法登录"),
    ("service", 10, "applications", "{} 响应缓慢"),
    ("router", 8, "network", "{} 丢包严重"),
    ("vm", 8, "systems", "{} CPU/内存告警"),
    ("database", 4, "systems", "{} 连接数过高"),
    ("interface", 7, "network", "{} 端口 down"),
    ("node", 4, "systems", "{} 节点告警"),
    ("core", 1, "network", "{} 核心交换机告警"),
]
STATES, KINDS, SOURCES, LEVELS = (
    list(IncidentState),
    list(IncidentKind),
    list(IncidentSource),
    list(Level),
)
PENDING_REASONS, CODES = list(PendingReason), list(ResolutionCode)[:6]
RESOLVE_HOURS = {"P1": 2, "P2": 8, "P3": 30, "P4": 60, "P5": 100}
REQUESTERS = ["张医生", "李护士", "王主任", "赵医生", "刘护士长", "陈药师", "杨技师", "周医生"]
DEPARTMENTS = ["门诊", "急诊", "住院部", "检验科", "放射科", "药房", "村卫生室", "收费处"]


def _skewed(rng: random.Random, ids: list[int]) -> int:
    # A few flaky CIs account for many incidents.
    return ids[int(len(ids) * rng.random() ** 2.5)]


def _state(rng: random.Random, age: timedelta) -> IncidentState:
    if age > timedelta(days=7):
        weights = [0, 0, 0.2, 0.6, 0.5, 92.7, 6.0]
    elif age > timedelta(days=2):
        weights = [1, 4, 8, 7, 25, 50, 5]
    else:
        weights = [12, 18, 25, 10, 25, 3, 7]
    return rng.choices(STATES, weights)[0]


def build_incidents(
    count: int, estate: Estate, group_ids: dict[str, int], members: dict[str, list[int]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A year of incidents, ids in creation order (the list is newest first by id)."""
    rng = random.Random(42)
    starts = []
    for _ in range(count):
        created = NOW - timedelta(seconds=rng.uniform(60, 365 * 86400))
        local = created.astimezone(SHANGHAI)
        if rng.random() < 0.75:  # most calls come in office hours
            local = local.replace(hour=rng.randint(8, 17), minute=rng.randint(0, 59))
        starts.append(min(local.astimezone(UTC), NOW - timedelta(minutes=1)))
    starts.sort()
    kinds, weights = [m[0] for m in CI_MIX], [m[1] for m in CI_MIX]
    mix = {m[0]: m for m in CI_MIX}
    rows: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    parent: tuple[int, int] | None = None  # (major id, children still to link)
    for index, created in enumerate(starts):
        incident_id = index + 1
        kind = rng.choices(KINDS, [82, 14, 4])[0]
        source = rng.choices(SOURCES, [38, 30, 10, 5, 15, 2])[0]
        ci_kind = rng.choices(kinds, weights)[0]
        _, _, group, title = mix[ci_kind]
        ci_id: int | None = _skewed(rng, estate.by_kind[ci_kind])
        if kind != IncidentKind.INCIDENT or rng.random() < 0.2:
            ci_id, group, title = None, "service-desk", "{}咨询: 系统使用问题"
        if rng.random() < 0.05:
            group = "vendor"
        impact_, urgency = rng.choices(LEVELS, [8, 35, 57])[0], rng.choices(LEVELS, [12, 38, 50])[0]
        priority = DEFAULT_MATRIX.priority(impact_, urgency)
        state = _state(rng, NOW - created)
        assigned = acknowledged = resolved = closed = cancelled = None
        assignee = None
        group_id: int | None = group_ids[group]
        if state != IncidentState.NEW:
            assigned = created + timedelta(minutes=rng.expovariate(1 / 15))
            assignee = _skewed(rng, members[group])
        elif rng.random() < 0.5:
            group_id = None  # not yet triaged
        if state not in (IncidentState.NEW, IncidentState.ASSIGNED, IncidentState.CANCELLED):
            acknowledged = (assigned or created) + timedelta(minutes=rng.expovariate(1 / 10))
        if state in (IncidentState.RESOLVED, IncidentState.CLOSED):
            took = rng.expovariate(1 / RESOLVE_HOURS[priority])
            resolved = min(created + timedelta(hours=took + 0.2), NOW)
        if state == IncidentState.CLOSED:
            closed = min(resolved + timedelta(hours=72), NOW) if resolved else NOW
        if state == IncidentState.CANCELLED:
            cancelled = min(created + timedelta(hours=rng.expovariate(1 / 4)), NOW)
        stamps = [t for t in (created, assigned, acknowledged, resolved, closed, cancelled) if t]
        # A major incident (a township router down) and the calls it causes right after.
        major, parent_id = False, None
        if parent is not None:
            parent_id, left = parent
            parent = (parent_id, left - 1) if left > 1 else None
        elif ci_kind == "router" and priority in ("P1", "P2") and rng.random() < 0.3:
            major, parent = True, (incident_id, rng.randint(2, 8))
        pending = state == IncidentState.PENDING
        category = rng.choice(PENDING_REASONS) if pending else None
        code = None
        if resolved:
            code = rng.choices(CODES, [60, 10, 5, 12, 8, 5])[0]
        name = estate.cis[ci_id - 1]["name"] if ci_id else ""
        rows.append(
            {
                "id": incident_id,
                "title": title.format(name),
                "description": "详见电话记录",
                "kind": kind,
                "source": source,
                "state": state,
                "impact": impact_,
                "urgency": urgency,
                "priority": priority,
                "priority_override_reason": None,
                "requester_name": rng.choice(REQUESTERS),
                "requester_contact": f"139{rng.randint(0, 99_999_999):08d}",
                "requester_department": rng.choice(DEPARTMENTS),
                "assignment_group_id": group_id,
                "assignee_id": assignee,
                "first_responsible_id": assignee,
                "second_responsible_id": None,
                "primary_ci_id": ci_id,
                "major": major,
                "parent_id": parent_id,
                "merged_into_id": None,
                "pending_reason": "等待用户回复" if pending else None,
                "pending_category": category,
                "resolution_code": code,
                "resolution_notes": "已处理" if code else None,
                "cancel_reason": "重复报障" if cancelled else None,
                "reopen_count": 1 if rng.random() < 0.02 else 0,
                "created_by": "service-desk-00",
                "created_at": created,
                "updated_at": max(stamps),
                "assigned_at": assigned,
                "acknowledged_at": acknowledged,
                "resolved_at": resolved,
                "closed_at": closed,
                "cancelled_at": cancelled,
            }
        )
        if ci_id is not None:
            affected = {ci_id}
            if rng.random() < 0.2:  # a few more CIs (the clinic's other devices, a service)
                affected.update(_skewed(rng, estate.by_kind["interface"]) for _ in range(2))
            links.extend(
                {"incident_id": incident_id, "ci_id": c, "added_at": created} for c in affected
            )
    return rows, links


# ---------------------------------------------------------------------------- loading


def _bulk(session: Any, model: Any, rows: list[dict[str, Any]]) -> None:
    for i in range(0, len(rows), CHUNK):
        session.execute(insert(model), rows[i : i + CHUNK])


@dataclass
class Loaded:
    core: int
    group_ids: dict[str, int]
    members: dict[str, list[int]]
    ci_ids: list[int]
    counts: dict[str, int]
    times: dict[str, float]
    generate_peak_mb: float


def load(engine: Engine, cis: int, incidents: int) -> Loaded:
    times: dict[str, float] = {}
    started = time.perf_counter()
    person_rows, members = build_people(first_user_id=1)
    group_ids = {g["name"]: g["id"] for g in person_rows["groups"]}
    estate = build_estate(cis, group_ids)
    incident_rows, links = build_incidents(incidents, estate, group_ids, members)
    # tracemalloc would make this 10x slower; the RSS high-water mark is free.
    peak = _rss_mb()
    times["generate rows (Python)"] = time.perf_counter() - started
    sessions = make_session_factory(engine)
    steps: list[tuple[str, list[tuple[Any, list[dict[str, Any]]]]]] = [
        (
            "insert people",
            [
                (Group, person_rows["groups"]),
                (User, person_rows["users"]),
                (UserRole, person_rows["roles"]),
                (GroupMember, person_rows["members"]),
            ],
        ),
        (
            "insert CIs + relationships",
            [(ConfigurationItem, estate.cis), (CIRelationship, estate.rels)],
        ),
        ("insert incidents + incident_cis", [(Incident, incident_rows), (IncidentCI, links)]),
    ]
    for label, tables in steps:
        started = time.perf_counter()
        with sessions() as session, session.begin():
            for model, rows in tables:
                _bulk(session, model, rows)
        times[label] = time.perf_counter() - started
    if engine.dialect.name == "postgresql":
        started = time.perf_counter()
        with engine.begin() as conn:
            for table in ("groups", "users", "cis", "ci_relationships", "incidents"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
            # Autovacuum would analyse a bulk load like this within a minute.
            conn.execute(text("ANALYZE"))
        times["setval + ANALYZE"] = time.perf_counter() - started
    else:
        # What Fulcrum's periodic `sqlite_optimize` job (PRAGMA optimize) does as tables grow.
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        times["ANALYZE"] = time.perf_counter() - started
    counts = {
        "CIs": len(estate.cis),
        "relationships": len(estate.rels),
        "incidents": len(incident_rows),
        "incident_cis": len(links),
        "users": len(person_rows["users"]),
        "groups": len(person_rows["groups"]),
    }
    with_ci = sorted({r["primary_ci_id"] for r in incident_rows if r["primary_ci_id"]})
    return Loaded(estate.core, group_ids, members, with_ci, counts, times, peak)


# ---------------------------------------------------------------------------- measuring


def _pct(times: list[float], share: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, max(0, round(len(ordered) * share) - 1))]


def list_shapes(
    loaded: Loaded, rng: random.Random
) -> list[tuple[str, Callable[[], dict[str, Any]]]]:
    """The filters a desk uses most, each with fresh random values per request."""
    groups = list(loaded.group_ids.values())
    engineers = [u for name, ids in loaded.members.items() for u in ids if name != "vendor"]
    month_ago = (NOW - timedelta(days=30)).isoformat()
    return [
        (
            "group queue (open, group)",
            lambda: {"state": OPEN_ALL, "assignment_group_id": rng.choice(groups)},
        ),
        ("urgent open (P1/P2)", lambda: {"state": OPEN, "priority": ["P1", "P2"]}),
        (
            "my work (assignee, open)",
            lambda: {"assignee_id": rng.choice(engineers), "state": OPEN_ALL},
        ),
        (
            "closed P3/P4 of a group",
            lambda: {
                "state": ["closed"],
                "priority": ["P3", "P4"],
                "assignment_group_id": rng.choice(groups),
            },
        ),
        (
            "resolved/closed last 30 d",
            lambda: {"state": ["resolved", "closed"], "created_after": month_ago},
        ),
        ("incidents of a CI", lambda: {"ci_id": rng.choice(loaded.ci_ids)}),
        (
            "new P1 of a group (rare)",
            lambda: {
                "state": ["new"],
                "priority": ["P1"],
                "assignment_group_id": rng.choice(groups),
            },
        ),
        ("P2 from alerts", lambda: {"priority": ["P2"], "source": "alert"}),
    ]


def measure_list(
    engine: Engine, settings: Settings, loaded: Loaded, repeat: int
) -> tuple[list[float], dict[str, list[float]], float]:
    sessions = make_session_factory(engine)
    with sessions() as s, s.begin():
        user = people.create_user(s, SYSTEM, "bench-viewer", roles={Role.VIEWER})
        token = people.create_token(s, SYSTEM, user, Role.VIEWER).secret
    headers = {"Authorization": f"Bearer {token}"}
    rng = random.Random(7)
    shapes = list_shapes(loaded, rng)
    times: list[float] = []
    per_shape: dict[str, list[float]] = {name: [] for name, _ in shapes}
    rows = 0
    with TestClient(create_app(settings, engine)) as client:

        def get(params: dict[str, Any]) -> int:
            response = client.get(
                "/api/v1/incidents", params={**params, "limit": 50}, headers=headers
            )
            response.raise_for_status()
            return len(response.json()["items"])

        for _name, make in shapes * 3:  # warm-up: statement caches, pool, page cache
            get(make())
        for i in range(repeat):
            name, make = shapes[i % len(shapes)]
            params = make()
            started = time.perf_counter()
            rows += get(params)
            elapsed = (time.perf_counter() - started) * 1000
            times.append(elapsed)
            per_shape[name].append(elapsed)
    return times, per_shape, rows / max(1, repeat)


def measure_impact(engine: Engine, core: int, repeat: int) -> tuple[list[float], int, int]:
    sessions = make_session_factory(engine)

    def run() -> tuple[int, int]:
        with sessions() as session:  # a fresh session: nothing cached in the identity map
            result = impact(session, core, Direction.DOWNSTREAM, 6)
            return len(result.downstream), len(result.down)

    run()
    times = []
    reached = down = 0
    for _ in range(repeat):
        started = time.perf_counter()
        reached, down = run()
        times.append((time.perf_counter() - started) * 1000)
    return times, reached, down


def office_calendar() -> BusinessCalendar:
    return BusinessCalendar(
        CalendarDefinition(
            name="bench-office",
            timezone="Asia/Shanghai",
            week=WeekSchedule.weekdays(hours("08:00-12:00", "13:30-17:30")),
            use_prc_holidays=True,
        )
    )


def measure_sla(count: int = 100_000) -> tuple[float, float]:
    """``due_at`` per second: cold (a new calendar filling its cache) and warm."""
    rng = random.Random(11)
    low = datetime(2026, 1, 1, tzinfo=SHANGHAI).timestamp()
    high = datetime(2028, 1, 1, tzinfo=SHANGHAI).timestamp()
    cases = [
        (
            datetime.fromtimestamp(rng.uniform(low, high), UTC),
            timedelta(minutes=rng.randint(60, 40 * 60)),
        )
        for _ in range(count)
    ]
    calendar = office_calendar()
    rates = []
    for _ in range(2):
        started = time.perf_counter()
        for start, target in cases:
            due_at(start, target, calendar)
        rates.append(count / (time.perf_counter() - started))
    return rates[0], rates[1]


# ---------------------------------------------------------------------------- reporting


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


@contextmanager
def database(kind: str, pg_url: str) -> Iterator[str]:
    """A fresh, empty database URL; dropped (or deleted) afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as scratch:
            yield f"sqlite:///{Path(scratch) / 'bench.db'}"
        return
    base = make_url(pg_url).set(drivername="postgresql+psycopg")
    name = f"fulcrum_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _row(figure: str, value: str, target: str = "", met: bool | None = None) -> None:
    mark = "" if met is None else ("✓" if met else "✗")
    print(f"  {figure:<46} {value:>16}  {target:<14} {mark}")


def run(kind: str, args: argparse.Namespace) -> None:
    with database(kind, args.pg_url) as url:
        settings = Settings({"database": {"url": url}})
        engine = make_engine(settings.database)
        try:
            started = time.perf_counter()
            migrate.upgrade(engine)
            migrate_s = time.perf_counter() - started
            loaded = load(engine, args.cis, args.incidents)
            rss_after_load = _rss_mb()
            list_times, per_shape, avg_rows = measure_list(engine, settings, loaded, args.repeat)
            impact_times, reached, down = measure_impact(engine, loaded.core, args.repeat)
        finally:
            engine.dispose()
    sla_cold, sla_warm = measure_sla()
    server = engine.dialect.server_version_info
    version = ".".join(str(v) for v in server or ())
    load1, load5, _ = os.getloadavg()
    print(
        f"\n=== {kind} {version} ===  ({os.cpu_count()} CPUs, load average {load1:.1f}/{load5:.1f})"
    )
    print("  load: " + ", ".join(f"{n} {c:,}" for n, c in loaded.counts.items()))
    print(f"  {'migrate to head':<46} {migrate_s:>14.1f} s")
    for label, seconds in loaded.times.items():
        print(f"  {label:<46} {seconds:>14.1f} s")
    print(f"  {'total load':<46} {sum(loaded.times.values()) + migrate_s:>14.1f} s")
    print()
    _row("figure", "value", "target", None)
    p50, p95 = statistics.median(list_times), _pct(list_times, 0.95)
    _row(f"incident list page p50 ({avg_rows:.0f} rows avg)", f"{p50:.1f} ms")
    _row("incident list page p95", f"{p95:.1f} ms", "< 50 ms", p95 < 50)
    impact_p95 = _pct(impact_times, 0.95)
    _row(
        f"impact core-1 depth 6 p50 ({reached:,} reached)",
        f"{statistics.median(impact_times):.1f} ms",
    )
    _row(
        f"impact core-1 depth 6 p95 ({down:,} down)",
        f"{impact_p95:.1f} ms",
        "< 100 ms",
        impact_p95 < 100,
    )
    _row("SLA due_at / s (warm calendar)", f"{sla_warm:,.0f}", ">= 50,000", sla_warm >= 50_000)
    _row("SLA due_at / s (cold calendar, first 100k)", f"{sla_cold:,.0f}")
    _row("peak memory (max RSS, whole run)", f"{_rss_mb():.0f} MiB")
    _row("  max RSS after generating the rows", f"{loaded.generate_peak_mb:.0f} MiB")
    _row("  max RSS after loading them", f"{rss_after_load:.0f} MiB")
    print(f"\n  list page by filter ({args.repeat} requests in all):")
    for name, times in per_shape.items():
        if times:
            print(
                f"    {name:<32} p50 {statistics.median(times):6.1f} ms  "
                f"p95 {_pct(times, 0.95):6.1f} ms  max {max(times):6.1f} ms  (n={len(times)})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--cis", type=int, default=20_000)
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    if args.cis < 6000:
        parser.error("--cis must be at least 6000 (the estate's fixed part)")
    if args.db != "both":
        run(args.db, args)
        return
    # One process per database, so each one's peak memory is its own.
    for kind in ("sqlite", "postgresql"):
        argv = [
            sys.executable,
            __file__,
            "--db",
            kind,
            "--pg-url",
            args.pg_url,
            "--cis",
            str(args.cis),
            "--incidents",
            str(args.incidents),
            "--repeat",
            str(args.repeat),
        ]
        subprocess.run(argv, check=True)


if __name__ == "__main__":
    main()
