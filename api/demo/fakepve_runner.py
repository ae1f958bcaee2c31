"""Serve ``fakepve`` (a Proxmox VE API fake) over HTTPS on loopback, for the demo and tests.

fakepve is AGPL-licensed and a dev/demo dependency only: it is imported lazily here and
nowhere in ``collectors/`` or ``remediation/``. This module is what ``fulcrum demo`` and
the test peers (``tests/peers/proxmox.py``) share:

- ``make_tls(directory)``: a throw-away CA and a server certificate for 127.0.0.1 and
  ``localhost`` (``openssl`` on the PATH; the ``cryptography`` package is not needed), so
  clients verify the fake with TLS verification on and ``ca_file`` as their CA bundle.
- ``ClusterSpec`` / ``GuestSpec``: the cluster to seed (name, nodes, guests, one API token);
  ``demo_cluster()`` is the demo estate's ``pve-dc`` with the VMs the CMDB seed names.
- ``FakePveServer``: the fake on its own event loop in a daemon thread (fakepve is an
  aiohttp app), so it serves synchronous and asynchronous callers alike;
  ``server.apply(fn)`` changes the fake's state on that loop (delete a VM, move counters).
"""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import threading
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

LOOPBACK = "127.0.0.1"
START_TIMEOUT = 30.0
_OPENSSL_TIMEOUT = 60.0
T = TypeVar("T")


@dataclass(frozen=True)
class TlsFiles:
    """PEM files: the CA to trust (``ca_file``) and the server's certificate and key."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(  # noqa: S603 - fixed arguments, no shell
        ["openssl", *args],  # noqa: S607 - openssl from the PATH, as a developer tool
        cwd=cwd,
        check=True,
        capture_output=True,
        timeout=_OPENSSL_TIMEOUT,
    )


def make_tls(directory: Path, hosts: tuple[str, ...] = (LOOPBACK, "localhost")) -> TlsFiles:
    """A new CA and a server certificate it signed for ``hosts`` (valid two days)."""
    directory.mkdir(parents=True, exist_ok=True)
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl(
        "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
        "-subj", "/CN=Fulcrum test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )  # fmt: skip
    _openssl(
        "req", "-new", *ec, "-keyout", "server.key", "-out", "server.csr",
        "-subj", f"/CN={hosts[0]}",
        cwd=directory,
    )  # fmt: skip
    names = ",".join(
        f"IP:{h}" if h.replace(".", "").isdigit() or ":" in h else f"DNS:{h}" for h in hosts
    )
    (directory / "server.ext").write_text(
        f"subjectAltName={names}\nbasicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
    )
    _openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-set_serial", str(secrets.randbits(63)), "-days", "2", "-sha256",
        "-extfile", "server.ext", "-out", "server.crt",
        cwd=directory,
    )  # fmt: skip
    (directory / "ca.key").chmod(0o600)
    (directory / "server.key").chmod(0o600)
    return TlsFiles(directory / "ca.crt", directory / "server.crt", directory / "server.key")


@dataclass(frozen=True)
class GuestSpec:
    """One guest to seed: a QEMU VM (``vm_type="qemu"``) or an LXC container."""

    vmid: int
    name: str
    node: str
    status: str = "running"
    vm_type: str = "qemu"
    cores: int = 2
    memory_mb: int = 2048
    disk_gb: int = 32
    ha_state: str | None = None
    lock: str | None = None


@dataclass(frozen=True)
class ClusterSpec:
    """The fake cluster: its name, nodes, guests and the one API token it accepts."""

    name: str = "pve-test"
    nodes: tuple[str, ...] = ("pve1", "pve2")
    guests: tuple[GuestSpec, ...] = ()
    token_id: str = "fulcrum@pve!monitor"  # noqa: S105 - the token's name, not its secret
    token_secret: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def token(self) -> str:
        """``user@realm!tokenid=secret``, the form ``fulcrum poll proxmox --token`` takes."""
        return f"{self.token_id}={self.token_secret}"


def demo_cluster() -> ClusterSpec:
    """The demo estate's cluster (``api/demo/estate.py``): ``pve-dc``, its nodes and VMs."""
    from api.demo.estate import APPLICATIONS

    guests = tuple(
        GuestSpec(vmid, name, node, cores=4, memory_mb=8192, disk_gb=100)
        for *_, vms in APPLICATIONS
        for name, node, vmid, _role in vms
    )
    nodes = tuple(sorted({guest.node for guest in guests}))
    return ClusterSpec(name="pve-dc", nodes=nodes, guests=guests)


def seed(pve: Any, spec: ClusterSpec) -> None:
    """Put ``spec``'s nodes, guests and token into a fresh ``FakePve``."""
    pve.cluster_name = spec.name
    pve.nodes = {}
    for node in spec.nodes:
        pve.add_node(node)
    for guest in spec.guests:
        config = {
            "cores": guest.cores,
            "memory": guest.memory_mb,
            "scsi0" if guest.vm_type == "qemu" else "rootfs": (
                f"local-lvm:vm-{guest.vmid}-disk-0,size={guest.disk_gb}G"
            ),
        }
        if guest.vm_type == "lxc":
            added = pve.add_ct(
                guest.vmid, guest.name, node=guest.node, status=guest.status, config=config
            )
        else:
            added = pve.add_vm(
                guest.vmid, guest.name, node=guest.node, status=guest.status, config=config
            )
        added.ha_state = guest.ha_state
        if guest.lock is not None:
            added.lock = guest.lock
            added.config["lock"] = guest.lock
    pve.apitokens[spec.token_id] = spec.token_secret


async def _drain() -> None:
    """Finish what the server left running (connection handlers, tasks), as asyncio.run does."""
    await asyncio.sleep(0)
    pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    await asyncio.get_running_loop().shutdown_asyncgens()


class FakePveServer:
    """A seeded fakepve on https://127.0.0.1:<free port>, on its own loop in a thread.

    Use as a context manager (or ``start()`` / ``stop()``). ``time_scale=0`` finishes every
    task before its request returns; the demo may pass 1.0 for real-time tasks.
    """

    def __init__(
        self,
        spec: ClusterSpec,
        tls: TlsFiles,
        *,
        host: str = LOOPBACK,
        port: int = 0,
        time_scale: float = 0.0,
    ) -> None:
        try:
            from fakepve import FakePve
        except ModuleNotFoundError as exc:  # a production install has no dev extras
            raise RuntimeError(
                "fakepve is not installed (a dev/demo dependency: pip install 'fulcrum[dev]')"
            ) from exc
        self.spec = spec
        self.tls = tls
        self.pve: Any = FakePve(host=host, port=port)
        self.pve.time_scale = time_scale
        seed(self.pve, spec)
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``https://127.0.0.1:PORT`` (the real port once started)."""
        return str(self.pve.url)

    def start(self) -> FakePveServer:
        self._thread = threading.Thread(target=self._run, name="fakepve", daemon=True)
        self._thread.start()
        try:
            self._call(self.pve.start(str(self.tls.cert_file), str(self.tls.key_file)))
        except BaseException:
            self._halt()
            raise
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        try:
            self._call(self.pve.stop())
            self._call(_drain())
        finally:
            self._halt()

    def __enter__(self) -> FakePveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def apply(self, change: Callable[[Any], T]) -> T:
        """Run ``change(pve)`` on the server's loop (so no request sees half a change)."""

        async def run() -> T:
            return change(self.pve)

        return self._call(run())

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await one of the fake's coroutines (``pve.backup(101)``…) on its loop."""
        return self._call(coro)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(START_TIMEOUT)

    def _halt(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(START_TIMEOUT)
            self._thread = None
        if not self._loop.is_running():
            self._loop.close()
