"""A daemon run as a child process on 127.0.0.1: free ports, readiness, sure teardown.

Every peer fixture (Prometheus, Alertmanager, a ``fulcrum serve``) is a :class:`Daemon`:
it starts the binary with its own working directory, waits (bounded) for an HTTP
readiness URL, keeps its output in a log file for the failure message, and is always
stopped — SIGTERM, then SIGKILL — when the ``with`` block ends.
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

import httpx

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it; bind then release)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


class PeerFailed(RuntimeError):
    """A peer did not start (or died); the message carries the tail of its log."""


class Daemon:
    """One child process with a log file and an HTTP readiness probe."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        ready_url: str,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        ready_timeout: float = 30.0,
        ready_verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.ready_url = ready_url
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.ready_timeout = ready_timeout
        self.ready_verify = ready_verify
        self.process: subprocess.Popen[bytes] | None = None

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        """Start the process and return once ``ready_url`` answers 2xx (bounded)."""
        if self.process is not None and self.process.poll() is None:
            raise PeerFailed(f"{self.name} is already running")
        with self.log_path.open("ab") as log:
            log.write(f"--- starting {' '.join(self.argv)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,  # a signal to us never reaches it by accident
            )
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise PeerFailed(f"{self.name} exited early:\n{self.log_tail()}")
            try:
                answer = httpx.get(
                    self.ready_url, timeout=2.0, trust_env=False, verify=self.ready_verify
                )
                if answer.is_success:
                    return
                last = f"HTTP {answer.status_code}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.1)
        raise PeerFailed(
            f"{self.name} not ready at {self.ready_url} after {self.ready_timeout}s "
            f"({last}):\n{self.log_tail()}"
        )

    def kill(self) -> None:
        """SIGKILL, no goodbye (the crash test's weapon); waits for the corpse."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds."""
        proc = self.process
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> Daemon:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def child_env(**overrides: str) -> dict[str, str]:
    """The current environment without proxies (loopback only), plus ``overrides``."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(overrides)
    return env
