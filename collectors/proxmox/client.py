"""A small synchronous client over proxmoxer: connect, get, post, wait for a task.

Shared by the collector and the remediation executor. proxmoxer (on ``requests``) blocks,
so async callers run these methods with ``asyncio.to_thread``. Every proxmoxer and
``requests`` error is translated here, at the edge, into ``collectors.errors``:

    401 / 403                          → AuthenticationFailed (token wrong, revoked, or
                                         lacking privileges)
    certificate not trusted            → TargetUnreachable("TLS verification failed: …")
    refused, DNS, timeout, other TLS   → TargetUnreachable
    any other HTTP error, bad payload  → ProtocolError (``status`` keeps the HTTP code)

Messages name the URL and PVE's own wording, never the token secret.
"""

from __future__ import annotations

import re
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from collectors.errors import AuthenticationFailed, CollectorError, ProtocolError, TargetUnreachable
from collectors.proxmox.target import ProxmoxTarget

# One path segment: node names, vmids, UPIDs (``UPID:node:…:user@realm!token:``).
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@!=+-]*$")
_UPID = re.compile(r"^UPID:(?P<node>[A-Za-z0-9][A-Za-z0-9.-]*):[0-9A-Fa-f]+:")


class PveHttpError(ProtocolError):
    """PVE answered with an HTTP error that is not about authentication."""

    def __init__(self, target: str, detail: str, status: int) -> None:
        super().__init__(target, detail)
        self.status = status


class TaskTimedOut(CollectorError):
    """A PVE task was still running when the caller stopped waiting."""

    reason = "task_timeout"


@dataclass(frozen=True, slots=True)
class TaskResult:
    """How a PVE task ended: ``ok`` when ``exitstatus`` is ``OK``."""

    upid: str
    exitstatus: str
    status: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.exitstatus == "OK"


def api_path(*segments: str | int) -> str:
    """``/nodes/pve1/qemu/101`` from its segments, refusing anything that could escape."""
    parts = [str(s) for s in segments]
    for part in parts:
        if not _SEGMENT.match(part) or ".." in part:
            raise ValueError(f"not a valid Proxmox API path segment: {part!r}")
    return "/" + "/".join(parts)


def node_of_upid(upid: str) -> str:
    """The node a task runs on, from its UPID (``UPID:node:pid:pstart:start:type:id:user:``)."""
    match = _UPID.match(upid)
    if match is None:
        raise ValueError(f"not a PVE task id: {upid!r}")
    return match["node"]


def _tls_failure(exc: BaseException) -> str | None:
    """The certificate problem behind a ``requests`` SSL error, if it is one."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return current.verify_message or str(current)
        todo.extend([current.__cause__, current.__context__])
        todo.extend(arg for arg in current.args if isinstance(arg, BaseException))
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return text.split("CERTIFICATE_VERIFY_FAILED]", 1)[-1].split("(_ssl", 1)[0].strip()
    return None


class ProxmoxClient:
    """One PVE API endpoint with token auth; blocking calls, translated errors.

    ``clock`` and ``sleep`` are injectable so ``wait_task`` can be driven without waiting.
    """

    def __init__(
        self,
        target: ProxmoxTarget,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.target = target
        self.name = target.url
        self._clock = clock
        self._sleep = sleep
        if target.verify_tls and target.ca_bundle is not None and not target.ca_bundle.is_file():
            raise CollectorError(self.name, f"CA bundle {target.ca_bundle} is not a readable file")
        self._api = ProxmoxAPI(
            target.host,
            port=target.port,
            path_prefix=target.path_prefix,
            user=target.user,
            token_name=target.token_name,
            token_value=target.token_secret.get_secret_value(),
            verify_ssl=target.tls_verify,
            timeout=target.timeout_seconds,
        )
        # Trust and proxies come from the target alone, never from REQUESTS_CA_BUNDLE or
        # HTTPS_PROXY in the environment (Fulcrum reads its settings in one place).
        self._api._store["session"].trust_env = False

    # ---------------------------------------------------------------- calls

    def connect(self) -> dict[str, Any]:
        """Check the address, the certificate and the token: PVE's ``/version`` answer."""
        version = self.get("/version")
        if not isinstance(version, dict):
            raise ProtocolError(self.name, "GET /version: not a Proxmox VE API answer")
        return version

    def get(self, path: str, **params: Any) -> Any:
        """``GET /api2/json<path>``'s ``data``."""
        return self._call("GET", path, params)

    def post(self, path: str, **data: Any) -> Any:
        """``POST /api2/json<path>``'s ``data`` (a UPID for power actions)."""
        return self._call("POST", path, data)

    def wait_task(self, upid: str, *, timeout: float = 300.0, interval: float = 1.0) -> TaskResult:
        """Poll ``/nodes/{node}/tasks/{upid}/status`` until it is ``stopped``.

        Returns how it ended (``result.ok`` for ``exitstatus == "OK"``); raises
        ``TaskTimedOut`` if it still runs after ``timeout`` seconds.
        """
        path = api_path("nodes", node_of_upid(upid), "tasks", upid, "status")
        deadline = self._clock() + timeout
        while True:
            status = self.get(path)
            if not isinstance(status, dict):
                raise ProtocolError(self.name, f"task {upid}: unexpected status answer")
            if status.get("status") == "stopped":
                return TaskResult(upid, str(status.get("exitstatus", "")), status)
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise TaskTimedOut(self.name, f"task {upid} still running after {timeout:g} s")
            self._sleep(min(interval, remaining))

    def task_log(self, upid: str, limit: int = 50) -> list[str]:
        """The last lines PVE logged for a task (for a failure's reason)."""
        path = api_path("nodes", node_of_upid(upid), "tasks", upid, "log")
        lines = self.get(path, limit=limit)
        if not isinstance(lines, list):
            raise ProtocolError(self.name, f"task {upid}: unexpected log answer")
        return [str(line.get("t", "")) for line in lines if isinstance(line, dict)]

    def close(self) -> None:
        """Close the pooled HTTPS connections now.

        ``Session.close()`` alone only forgets urllib3's pools (2.x closes them when they
        are garbage-collected), and an error's traceback can keep them alive for long.
        """
        session = self._api._store.get("session")
        if session is None:
            return
        for adapter in session.adapters.values():
            pools = getattr(getattr(adapter, "poolmanager", None), "pools", None)
            if pools is None:
                continue
            for key in list(pools.keys()):
                pool = pools.get(key)
                if pool is not None:
                    pool.close()
        session.close()

    def __enter__(self) -> ProxmoxClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ internals

    def _call(self, method: str, path: str, values: dict[str, Any]) -> Any:
        api_path(*(part for part in path.strip("/").split("/")))  # validates every segment
        resource = self._api(path.strip("/"))
        with self._translated(f"{method} {path}"):
            if method == "GET":
                return resource.get(**values)
            return resource.post(**values)

    @contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        try:
            yield
        except ResourceException as exc:
            raise self._http_error(what, exc) from exc
        except requests.exceptions.SSLError as exc:
            problem = _tls_failure(exc)
            if problem is not None:
                raise TargetUnreachable(
                    self.name, f"TLS verification failed: {problem} (check the CA bundle)"
                ) from exc
            raise TargetUnreachable(self.name, f"TLS handshake failed: {exc}") from exc
        except requests.exceptions.Timeout as exc:
            raise TargetUnreachable(
                self.name, f"{what}: no answer within {self.target.timeout_seconds:g} s"
            ) from exc
        except requests.exceptions.ConnectionError as exc:
            raise TargetUnreachable(self.name, f"{what}: cannot connect ({exc})") from exc
        except (requests.exceptions.RequestException, ValueError) as exc:
            raise ProtocolError(self.name, f"{what}: {exc}") from exc

    def _http_error(self, what: str, exc: ResourceException) -> CollectorError:
        status = int(exc.status_code)
        message = str(exc.content or exc.status_message or "").strip()
        if status == 401:
            return AuthenticationFailed(self.name, f"{what}: the API token was refused ({message})")
        if status == 403:
            return AuthenticationFailed(
                self.name, f"{what}: the API token lacks a privilege ({message})"
            )
        errors = f" {exc.errors}" if exc.errors else ""
        return PveHttpError(self.name, f"{what}: HTTP {status} {message}{errors}", status)
