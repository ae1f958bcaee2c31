"""Shared fixtures: a migrated database (SQLite or PostgreSQL), sessions, the API, tokens.

The database comes from ``FULCRUM_TEST_DATABASE_URL``: unset means a fresh SQLite file;
a PostgreSQL URL (e.g. ``postgresql://postgres@127.0.0.1:5432/test``) makes the suite
create a throw-away database beside it, migrate it, and drop it at the end.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.models import Base
from itsm_core import migrate
from itsm_core.actor import SYSTEM
from itsm_core.db import make_engine, make_session_factory
from itsm_core.people import service as people
from itsm_core.people.roles import Role
from itsm_core.settings import Settings

TEST_DB_ENV = "FULCRUM_TEST_DATABASE_URL"


def _postgres_database(base_url: str) -> Iterator[str]:
    base = make_url(base_url).set(drivername="postgresql+psycopg")
    name = f"fulcrum_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    configured = os.environ.get(TEST_DB_ENV, "")
    if configured.startswith("postgresql"):
        yield from _postgres_database(configured)
    else:
        path: Path = tmp_path_factory.mktemp("db") / "fulcrum-test.db"
        yield f"sqlite:///{path}"


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings({"database": {"url": database_url}})


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    eng = make_engine(settings.database)
    migrate.upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture(autouse=True)
def _empty_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test starts from empty tables (cheaper than a database per test)."""
    yield
    if "engine" not in request.fixturenames:
        return
    eng: Engine = request.getfixturevalue("engine")
    tables = list(reversed(Base.metadata.sorted_tables))
    with eng.begin() as conn:
        if eng.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session for arranging and checking; the test commits what it means to keep."""
    with sessions() as s:
        yield s


@pytest.fixture
def app(settings: Settings, engine: Engine) -> FastAPI:
    return create_app(settings, engine)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


TokenFactory = Callable[..., dict[str, str]]


@pytest.fixture
def auth(sessions: sessionmaker[Session]) -> TokenFactory:
    """``auth(Role.ENGINEER)`` → headers with a bearer token for a fresh user in that role."""

    def make(role: Role, username: str | None = None) -> dict[str, str]:
        name = username or f"{role.value}-{uuid.uuid4().hex[:6]}"
        with sessions() as s, s.begin():
            user = people.find_user(s, name) or people.create_user(s, SYSTEM, name, roles={role})
            if role not in user.roles:
                people.grant_role(s, SYSTEM, user, role)
            issued = people.create_token(s, SYSTEM, user, role)
        return {"Authorization": f"Bearer {issued.secret}"}

    return make
