"""SNMP agents the tests (and the benchmark) start on loopback UDP ports.

- :func:`running_snmpd`: Debian's net-snmp ``snmpd``, unprivileged port, its own config
  (``-C -c FILE``): a v2c community and v3 users over every auth/priv protocol, serving
  this machine's real interfaces, CPU and storage.
- :func:`running_snmpsim`: ``snmpsim-command-responder`` over a data directory; each
  ``NAME.snmprec`` answers to community ``NAME`` (several devices, one process).
  :data:`SNMPREC` holds the hand-written router and switch.

Readiness is a real SNMPv2c GET (hand-encoded, so the probe shares no code with the
collector under test); both daemons run in their own session and are always stopped.
"""

from __future__ import annotations

import shutil
import socket
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.peers.loopback import LOOPBACK, Daemon, PeerFailed, child_env

SNMPREC = Path(__file__).with_name("snmprec")
SNMPD = "/usr/sbin/snmpd"
SNMPSIM = str(Path(sys.executable).with_name("snmpsim-command-responder"))
COMMUNITY = "fulcrum-ro"

# (user, auth protocol, priv protocol) as net-snmp spells them; passphrases below.
V3_USERS: tuple[tuple[str, str, str | None], ...] = (
    ("authmd5", "MD5", None),
    ("authsha", "SHA", None),
    ("sha224des", "SHA-224", "DES"),
    ("sha256aes", "SHA-256", "AES"),
    ("sha384aes192", "SHA-384", "AES-192"),
    ("sha512aes256", "SHA-512", "AES-256"),
    ("md5aes256", "MD5", "AES-256"),
)
AUTH_PASS = "auth-pass-1234"
PRIV_PASS = "priv-pass-5678"


def free_udp_port() -> int:
    """A UDP port nobody uses right now on loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def _tlv(tag: int, body: bytes) -> bytes:
    assert len(body) < 128
    return bytes([tag, len(body)]) + body


def v2c_get_packet(community: str, request_id: int = 4242) -> bytes:
    """An SNMPv2c GET of sysUpTime.0, BER-encoded by hand."""
    varbind = _tlv(0x30, _tlv(0x06, bytes([0x2B, 6, 1, 2, 1, 1, 3, 0])) + _tlv(0x05, b""))
    pdu = _tlv(
        0xA0,
        _tlv(0x02, request_id.to_bytes(2, "big"))
        + _tlv(0x02, b"\x00")
        + _tlv(0x02, b"\x00")
        + _tlv(0x30, varbind),
    )
    return _tlv(0x30, _tlv(0x02, b"\x01") + _tlv(0x04, community.encode()) + pdu)


def answers(port: int, community: str, timeout: float = 0.5) -> bool:
    """Whether an agent on ``port`` answers a v2c GET with ``community``."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(v2c_get_packet(community), (LOOPBACK, port))
            reply = sock.recv(65535)
        except OSError:
            return False
        return reply[:1] == b"\x30"


class UdpAgent(Daemon):
    """A :class:`Daemon` whose readiness is an SNMP answer instead of HTTP."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        port: int,
        community: str,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        ready_timeout: float = 60.0,
    ) -> None:
        super().__init__(
            name,
            argv,
            log_path=log_path,
            ready_url="",
            env=env,
            cwd=cwd,
            ready_timeout=ready_timeout,
        )
        self.port = port
        self.community = community

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise PeerFailed(f"{self.name} exited early:\n{self.log_tail()}")
            if answers(self.port, self.community):
                return
            time.sleep(0.1)
        raise PeerFailed(
            f"{self.name} did not answer on udp:{self.port} after {self.ready_timeout}s:\n"
            f"{self.log_tail()}"
        )


@dataclass
class SnmpdPeer:
    """A running snmpd: where it listens and the credentials it knows."""

    port: int
    community: str
    agent: UdpAgent
    workdir: Path


def snmpd_available() -> bool:
    return Path(SNMPD).exists()


def snmpd_config(port: int, community: str) -> str:
    lines = [
        f"agentaddress udp:{LOOPBACK}:{port}",
        f"rocommunity {community} {LOOPBACK}",
        "sysname fulcrum-test-snmpd",
        "sysLocation loopback",
    ]
    for user, auth, priv in V3_USERS:
        if priv is None:
            lines += [f"createUser {user} {auth} {AUTH_PASS}", f"rouser {user} auth"]
        else:
            lines += [
                f"createUser {user} {auth} {AUTH_PASS} {priv} {PRIV_PASS}",
                f"rouser {user} priv",
            ]
    return "\n".join(lines) + "\n"


@contextmanager
def running_snmpd(workdir: Path, community: str = COMMUNITY) -> Iterator[SnmpdPeer]:
    """net-snmp's snmpd on a free loopback UDP port, stopped on exit."""
    if not snmpd_available():
        pytest.skip("snmpd is not installed (scripts/ensure-peers.sh installs it)")
    workdir.mkdir(parents=True, exist_ok=True)
    persistent = workdir / "persist"
    persistent.mkdir(exist_ok=True)
    port = free_udp_port()
    config = workdir / "snmpd.conf"
    config.write_text(snmpd_config(port, community))
    agent = UdpAgent(
        "snmpd",
        [
            SNMPD,
            "-f",
            "-C",
            "-c",
            str(config),
            "-p",
            str(workdir / "snmpd.pid"),
            "-Lf",
            str(workdir / "snmpd.log"),
        ],
        port=port,
        community=community,
        log_path=workdir / "snmpd.out",
        env=child_env(SNMP_PERSISTENT_DIR=str(persistent), MIBS="", HOME=str(workdir)),
        cwd=workdir,
    )
    with agent:
        yield SnmpdPeer(port, community, agent, workdir)


@dataclass
class SnmpsimPeer:
    """A running snmpsim: its port and data directory (community = data file name)."""

    port: int
    data_dir: Path
    agent: UdpAgent

    def restart(self) -> None:
        """Stop and start again on the same port: sysUpTime and `numeric` counters
        start over, as after a reboot of the simulated devices."""
        self.agent.restart()


def snmpsim_available() -> bool:
    return Path(SNMPSIM).exists()


def snmpsim_agent(
    data_dir: Path, workdir: Path, port: int, probe_community: str, *, quiet: bool = True
) -> UdpAgent:
    """The simulator as a (not yet started) :class:`UdpAgent`."""
    argv = [
        SNMPSIM,
        f"--data-dir={data_dir}",
        f"--agent-udpv4-endpoint={LOOPBACK}:{port}",
        f"--cache-dir={workdir / 'cache'}",
    ]
    if quiet:
        argv.append("--logging-method=null")
    return UdpAgent(
        "snmpsim",
        argv,
        port=port,
        community=probe_community,
        log_path=workdir / "snmpsim.log",
        # snmpsim refuses to run as root unless told; it binds no privileged port here.
        env=child_env(SNMPSIM_ALLOW_ROOT="true"),
        cwd=workdir,
    )


@contextmanager
def running_snmpsim(
    workdir: Path,
    devices: Sequence[str] = ("router", "switch"),
    *,
    source: Path = SNMPREC,
) -> Iterator[SnmpsimPeer]:
    """snmpsim serving ``devices`` (``NAME.snmprec`` files copied from ``source``)."""
    if not snmpsim_available():
        pytest.skip("snmpsim is not installed in this virtualenv")
    data_dir = workdir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    for name in devices:
        shutil.copyfile(source / f"{name}.snmprec", data_dir / f"{name}.snmprec")
    port = free_udp_port()
    agent = snmpsim_agent(data_dir, workdir, port, devices[0])
    with agent:
        yield SnmpsimPeer(port, data_dir, agent)


@pytest.fixture(scope="module")
def snmpd_peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnmpdPeer]:
    with running_snmpd(tmp_path_factory.mktemp("snmpd")) as peer:
        yield peer


@pytest.fixture
def snmpsim_peer(tmp_path: Path) -> Iterator[SnmpsimPeer]:
    with running_snmpsim(tmp_path / "snmpsim") as peer:
        yield peer


def environment_has_crypto() -> bool:
    """pysnmp needs the ``cryptography`` package for DES/AES privacy."""
    try:
        __import__("cryptography")
    except ImportError:
        return False
    return True


__all__ = [
    "AUTH_PASS",
    "COMMUNITY",
    "PRIV_PASS",
    "SNMPREC",
    "V3_USERS",
    "SnmpdPeer",
    "SnmpsimPeer",
    "answers",
    "environment_has_crypto",
    "free_udp_port",
    "running_snmpd",
    "running_snmpsim",
    "snmpd_peer",
    "snmpsim_peer",
]
