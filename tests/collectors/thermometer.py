"""A real, tiny collector and its peer, to drive the scheduler without SNMP or Proxmox.

``ThermometerServer`` is an HTTP server on 127.0.0.1 (a thread) answering
``GET /reading`` with ``{"celsius": …}``. Tests switch its behaviour — answer, refuse
with 401, hold requests (to show the concurrency limit or a timeout) — and read how many
requests it saw and how many were in flight at most.

``ThermometerPoller`` is a collector in the same shape as the real ones: it talks HTTP
to the target's address, maps failures onto ``collectors.errors`` and returns a
``PollResult`` with one sample and the thermometer as a discovered CI.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from collectors.errors import AuthenticationFailed, ProtocolError, TargetUnreachable
from collectors.result import DiscoveredCI, PollResult
from collectors.samples import CIRef, Sample
from collectors.targets import Target
from tests.peers.loopback import LOOPBACK, free_port

KIND = "thermometer"
SOURCE = "thermometer"


class ThermometerServer:
    """The peer: its URL, its behaviour switches and what it observed."""

    def __init__(self) -> None:
        self.celsius = 21.5
        self.status = 200
        self.secret = "s3cret-token"
        self.release = threading.Event()
        self.release.set()  # answer at once unless a test holds requests
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.arrived = threading.Condition()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with server.arrived:
                    server.requests += 1
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                    server.arrived.notify_all()
                try:
                    server.release.wait(timeout=10)
                    if self.headers.get("Authorization") != f"Bearer {server.secret}":
                        status, body = 401, {"error": "bad token"}
                    else:
                        status, body = server.status, {"celsius": server.celsius}
                    payload = json.dumps(body).encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                finally:
                    with server.arrived:
                        server.in_flight -= 1
                        server.arrived.notify_all()

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler

    def wait_for(self, predicate: Callable[[ThermometerServer], bool], timeout: float = 10) -> None:
        """Block (bounded) until ``predicate(self)`` holds."""
        with self.arrived:
            if not self.arrived.wait_for(lambda: predicate(self), timeout=timeout):
                raise AssertionError("the thermometer never got there")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)


@contextmanager
def running_thermometer() -> Iterator[ThermometerServer]:
    server = ThermometerServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def dead_url() -> str:
    """A loopback URL nobody listens on (bound, then released)."""
    return f"http://{LOOPBACK}:{free_port()}"


class ThermometerPoller:
    """A collector for thermometers: one sample and one CI per poll."""

    def __init__(self, token: str, clock: Callable[[], datetime]) -> None:
        self.token = token
        self.clock = clock

    async def poll(self, target: Target) -> PollResult:
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            async with httpx.AsyncClient(timeout=30, trust_env=False) as client:
                answer = await client.get(f"{target.address}/reading", headers=headers)
        except httpx.TransportError as exc:
            raise TargetUnreachable(target.key, f"no answer ({type(exc).__name__})") from exc
        if answer.status_code == 401:
            raise AuthenticationFailed(target.key, "the thermometer refused the token")
        if answer.status_code != 200:
            raise ProtocolError(target.key, f"HTTP {answer.status_code}")
        ref = CIRef(SOURCE, target.address)
        return PollResult(
            target=target.key,
            samples=[Sample("room_celsius", answer.json()["celsius"], self.clock(), {}, ref)],
            cis=[DiscoveredCI(ref, "application", f"thermometer {target.label}")],
        )
