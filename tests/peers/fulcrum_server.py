"""Fulcrum itself as a peer: ``fulcrum serve`` in a child process on a free loopback port.

    with running_fulcrum(tmp_path, database_url) as server:
        httpx.post(f"{server.url}/api/v1/webhooks/alertmanager", …)
        server.kill()      # SIGKILL, the crash test's weapon
        server.start()     # same port, same database

The database must already be migrated (the ``engine`` fixture does it; the benchmark
runs ``fulcrum db upgrade``). ``fulcrum(…)`` runs any other CLI command against the
same database, e.g. ``fulcrum token create``.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.peers.loopback import LOOPBACK, Daemon, child_env, free_port


def fulcrum_argv() -> list[str]:
    """How to run the ``fulcrum`` CLI of this interpreter's environment."""
    script = Path(sys.executable).with_name("fulcrum")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from api.cli import main; main()"]


def fulcrum_env(database_url: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = child_env(FULCRUM_DATABASE_URL=database_url)
    env.update(extra or {})
    return env


def fulcrum(
    database_url: str,
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 120.0,
) -> str:
    """Run one CLI command against ``database_url``; its stdout (raises on failure)."""
    done = subprocess.run(
        [*fulcrum_argv(), *args],
        env=fulcrum_env(database_url, env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"fulcrum {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        )
    return done.stdout


def create_token(database_url: str, user: str, role: str) -> str:
    """``fulcrum token create --user USER --role ROLE``: the secret it prints."""
    return fulcrum(database_url, "token", "create", "--user", user, "--role", role).strip()


@dataclass
class FulcrumServer:
    """A ``fulcrum serve`` process: its base URL and the daemon to kill or restart."""

    url: str
    port: int
    daemon: Daemon

    def start(self) -> None:
        self.daemon.start()

    def kill(self) -> None:
        self.daemon.kill()

    def stop(self) -> None:
        self.daemon.stop()


@contextmanager
def running_fulcrum(
    workdir: Path,
    database_url: str,
    *,
    env: Mapping[str, str] | None = None,
    ready_timeout: float = 60.0,
) -> Iterator[FulcrumServer]:
    """``fulcrum serve`` on 127.0.0.1:free-port until the block ends (always stopped)."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    daemon = Daemon(
        "fulcrum serve",
        [*fulcrum_argv(), "serve", "--host", LOOPBACK, "--port", str(port)],
        log_path=workdir / "fulcrum-serve.log",
        ready_url=f"{url}/readyz",
        env=fulcrum_env(database_url, env),
        cwd=workdir,
        ready_timeout=ready_timeout,
    )
    with daemon:
        yield FulcrumServer(url, port, daemon)
