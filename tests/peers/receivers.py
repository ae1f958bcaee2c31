"""Local receivers that stand in for WeCom, DingTalk, a webhook consumer and a mail server.

    with running_http_receiver() as hooks:          # http://127.0.0.1:PORT
        hooks.script(500, 200)                      # first answer 500, then 200
        ...                                         # point a channel at hooks.url
        [post] = hooks.wait_for(1)
        post.json()["text"]["content"]

    with running_smtp_sink() as smtp:               # smtp.host, smtp.port
        ...
        [mail] = smtp.wait_for(1)
        mail.message["Subject"], mail.text()

Both listen on 127.0.0.1 only, on a port the OS picks, serve from a daemon thread, bound
every socket operation with a timeout, and are shut down when the ``with`` block ends.
The HTTP receiver answers 200 with the vendors' success body
(``{"errcode": 0, "errmsg": "ok"}``) unless a test scripts other answers. The SMTP sink
speaks enough of RFC 5321 for :mod:`smtplib` (EHLO/HELO, AUTH PLAIN/LOGIN, MAIL, RCPT,
DATA with dot-unstuffing, RSET, NOOP, QUIT) and keeps each message parsed.
"""

from __future__ import annotations

import base64
import json
import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

LOOPBACK = "127.0.0.1"
SOCKET_TIMEOUT = 10.0
OK_BODY = {"errcode": 0, "errmsg": "ok"}


# --------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CapturedRequest:
    """One request the receiver got, and the status it answered."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    status: int

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass(frozen=True)
class Answer:
    """A scripted reply: HTTP status, JSON body (the vendors' ``errcode`` shape), and how
    long to stall first (a hanging peer; bounded by the socket timeout)."""

    status: int = 200
    body: dict[str, Any] = field(default_factory=lambda: dict(OK_BODY))
    delay: float = 0.0


class HttpReceiver:
    """Records every request; answers from a script, then with the default answer."""

    def __init__(self, server: ThreadingHTTPServer) -> None:
        self._server = server
        self._lock = threading.Condition()
        self._requests: list[CapturedRequest] = []
        self._script: list[Answer] = []
        self.default = Answer()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def script(self, *answers: int | Answer) -> None:
        """Answer the next requests with these statuses (or full answers), in order."""
        with self._lock:
            self._script.extend(a if isinstance(a, Answer) else Answer(a) for a in answers)

    @property
    def requests(self) -> list[CapturedRequest]:
        with self._lock:
            return list(self._requests)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[CapturedRequest]:
        """Block (bounded) until at least ``count`` requests arrived; return them all."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {count} request(s), got {len(self._requests)} in {timeout}s"
                    )
                self._lock.wait(left)
            return list(self._requests)

    def _next_answer(self) -> Answer:
        with self._lock:
            return self._script.pop(0) if self._script else self.default

    def _record(self, request: CapturedRequest) -> None:
        with self._lock:
            self._requests.append(request)
            self._lock.notify_all()


class _Handler(BaseHTTPRequestHandler):
    server: _ReceiverServer
    timeout = SOCKET_TIMEOUT
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        answer = self.server.receiver._next_answer()
        self.server.receiver._record(
            CapturedRequest(
                method=self.command,
                path=split.path,
                query=parse_qs(split.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                status=answer.status,
            )
        )
        if answer.delay:
            time.sleep(min(answer.delay, SOCKET_TIMEOUT))
        payload = json.dumps(answer.body).encode()
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_POST = do_PUT = do_GET = _handle

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read the captured requests instead."""


class _ReceiverServer(ThreadingHTTPServer):
    daemon_threads = True
    receiver: HttpReceiver

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timed out) while we stalled is expected, not news."""


@contextmanager
def running_http_receiver() -> Iterator[HttpReceiver]:
    """An HTTP receiver on 127.0.0.1 (OS-chosen port) until the block ends."""
    server = _ReceiverServer((LOOPBACK, 0), _Handler)
    receiver = HttpReceiver(server)
    server.receiver = receiver
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# --------------------------------------------------------------------------------------
# SMTP
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReceivedMail:
    """One message the sink accepted: envelope, login used, and the parsed message."""

    mail_from: str
    rcpt_to: list[str]
    data: bytes
    login: tuple[str, str] | None

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)

    def text(self) -> str:
        """The plain-text body (the first text/plain part), decoded."""
        part = self.message.get_body(preferencelist=("plain", "html"))
        assert part is not None, "message has no text body"
        return str(cast(EmailMessage, part).get_content())


class SmtpSink:
    """The messages received so far; ``require_auth`` makes MAIL need a login first."""

    def __init__(self, server: _SmtpServer) -> None:
        self._server = server
        self._lock = threading.Condition()
        self.messages: list[ReceivedMail] = []
        self.credentials: tuple[str, str] | None = None

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def require_login(self, username: str, password: str) -> None:
        self.credentials = (username, password)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMail]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {count} mail(s), got {len(self.messages)} in {timeout}s"
                    )
                self._lock.wait(left)
            return list(self.messages)

    def _deliver(self, mail: ReceivedMail) -> None:
        with self._lock:
            self.messages.append(mail)
            self._lock.notify_all()


class _SmtpHandler(socketserver.StreamRequestHandler):
    server: _SmtpServer
    timeout = SOCKET_TIMEOUT

    def _reply(self, line: str) -> None:
        self.wfile.write(line.encode("ascii") + b"\r\n")
        self.wfile.flush()

    def _readline(self) -> str | None:
        raw = self.rfile.readline(65536)
        return raw.decode("utf-8", "replace").rstrip("\r\n") if raw else None

    def handle(self) -> None:
        sink = self.server.sink
        mail_from: str | None = None
        rcpts: list[str] = []
        login: tuple[str, str] | None = None
        self._reply(f"220 {LOOPBACK} fulcrum-test-sink ESMTP")
        while (line := self._readline()) is not None:
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                self.wfile.write(
                    f"250-{LOOPBACK}\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n"
                    "250-AUTH PLAIN LOGIN\r\n250 HELP\r\n".encode("ascii")
                )
                self.wfile.flush()
            elif verb == "HELO":
                self._reply(f"250 {LOOPBACK}")
            elif verb == "AUTH":
                login = self._auth(arg)
                if login is None or (sink.credentials and login != sink.credentials):
                    login = None
                    self._reply("535 5.7.8 authentication failed")
                else:
                    self._reply("235 2.7.0 authenticated")
            elif verb == "MAIL":
                if sink.credentials and login is None:
                    self._reply("530 5.7.0 authentication required")
                    continue
                mail_from, rcpts = _address(arg), []
                self._reply("250 OK")
            elif verb == "RCPT":
                if mail_from is None:
                    self._reply("503 need MAIL first")
                    continue
                rcpts.append(_address(arg))
                self._reply("250 OK")
            elif verb == "DATA":
                if mail_from is None or not rcpts:
                    self._reply("503 need MAIL and RCPT first")
                    continue
                self._reply("354 end data with <CR><LF>.<CR><LF>")
                data = self._read_data()
                if data is None:
                    return
                sink._deliver(ReceivedMail(mail_from, rcpts, data, login))
                mail_from, rcpts = None, []
                self._reply("250 OK queued")
            elif verb == "RSET":
                mail_from, rcpts = None, []
                self._reply("250 OK")
            elif verb == "NOOP":
                self._reply("250 OK")
            elif verb == "QUIT":
                self._reply("221 bye")
                return
            else:
                self._reply("502 command not implemented")

    def _auth(self, arg: str) -> tuple[str, str] | None:
        mechanism, _, initial = arg.partition(" ")
        try:
            if mechanism.upper() == "PLAIN":
                if not initial:
                    self._reply("334 ")
                    initial = self._readline() or ""
                _, user, password = base64.b64decode(initial).decode().split("\x00")
                return user, password
            if mechanism.upper() == "LOGIN":
                self._reply("334 " + base64.b64encode(b"Username:").decode())
                user = base64.b64decode(self._readline() or "").decode()
                self._reply("334 " + base64.b64encode(b"Password:").decode())
                password = base64.b64decode(self._readline() or "").decode()
                return user, password
        except (ValueError, UnicodeDecodeError):
            return None
        return None

    def _read_data(self) -> bytes | None:
        lines: list[bytes] = []
        while True:
            raw = self.rfile.readline(1_048_576)
            if not raw:
                return None
            if raw in (b".\r\n", b".\n"):
                return b"".join(lines)
            lines.append(raw[1:] if raw.startswith(b".") else raw)


def _address(arg: str) -> str:
    """``FROM:<a@b> SIZE=1`` → ``a@b``."""
    _, _, rest = arg.partition(":")
    rest = rest.strip()
    if rest.startswith("<"):
        return rest[1 : rest.find(">")]
    return rest.split(" ")[0]


class _SmtpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    sink: SmtpSink


@contextmanager
def running_smtp_sink() -> Iterator[SmtpSink]:
    """An SMTP sink on 127.0.0.1 (OS-chosen port) until the block ends."""
    server = _SmtpServer((LOOPBACK, 0), _SmtpHandler)
    sink = SmtpSink(server)
    server.sink = sink
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
