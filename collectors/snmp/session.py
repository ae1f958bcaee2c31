"""Talking SNMP to one agent with pysnmp 7 (asyncio): engines, requests, walks, errors.

- One ``SnmpEngine`` per event loop (:func:`engine_for_loop`): an engine costs MBs and
  reads files on first use, and its UDP socket belongs to one loop. Close it with
  :func:`close_engine_for_loop` before the loop ends (else its socket leaks).
- Requests go through pysnmp's command generators with numeric OIDs and no MIB
  resolution (pysnmp bundles no IF-MIB; the high-level API would resolve every request
  OID through pysmi's MIB compiler, which costs CPU and warns of deprecations).
- :meth:`SnmpSession.walk_columns` walks several table columns at once with GETBULK,
  bounded to each column's subtree (like ``lexicographicMode=False``), resuming after a
  truncated answer, and stops on the first error indication — pysnmp's
  ``bulk_walk_cmd`` would otherwise retry a timed-out request forever.
- pysnmp's error indications become :mod:`collectors.errors`: a timeout is
  ``TargetUnreachable`` (with v2c a wrong community is also only a timeout: the agent
  drops the request), USM errors are ``AuthenticationFailed``, the rest
  ``ProtocolError``. No message carries a community or key.
"""

from __future__ import annotations

import asyncio
import time
import warnings
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

with warnings.catch_warnings():
    # pysnmp 7.1 imports names pysmi 2 has deprecated; nothing we can fix from here.
    warnings.filterwarnings(
        "ignore",
        message=r"\w+ is deprecated\. Please use \w+ instead",
        category=DeprecationWarning,
    )
    from pyasn1.type import univ
    from pysnmp.entity.engine import SnmpEngine as SnmpEngine
    from pysnmp.entity.rfc3413 import cmdgen
    from pysnmp.error import PySnmpError
    from pysnmp.hlapi.v3arch.asyncio import (
        CommunityData,
        UdpTransportTarget,
        UsmUserData,
    )
    from pysnmp.hlapi.v3arch.asyncio import auth as usm
    from pysnmp.hlapi.v3arch.asyncio.lcd import CommandGeneratorLcdConfigurator
    from pysnmp.proto import errind, rfc1902, rfc1905

from collectors.errors import AuthenticationFailed, CollectorError, ProtocolError, TargetUnreachable
from collectors.snmp.choices import AuthProtocol, PrivProtocol, SnmpVersion
from collectors.snmp.target import SnmpTarget

Value = int | str | bytes
Oid = tuple[int, ...]

_AUTH = {
    AuthProtocol.MD5: usm.USM_AUTH_HMAC96_MD5,
    AuthProtocol.SHA: usm.USM_AUTH_HMAC96_SHA,
    AuthProtocol.SHA224: usm.USM_AUTH_HMAC128_SHA224,
    AuthProtocol.SHA256: usm.USM_AUTH_HMAC192_SHA256,
    AuthProtocol.SHA384: usm.USM_AUTH_HMAC256_SHA384,
    AuthProtocol.SHA512: usm.USM_AUTH_HMAC384_SHA512,
}
_PRIV = {
    PrivProtocol.DES: usm.USM_PRIV_CBC56_DES,
    PrivProtocol.AES128: usm.USM_PRIV_CFB128_AES,
    PrivProtocol.AES192: usm.USM_PRIV_CFB192_AES_BLUMENTHAL,
    PrivProtocol.AES256: usm.USM_PRIV_CFB256_AES_BLUMENTHAL,
    PrivProtocol.AES192C: usm.USM_PRIV_CFB192_AES,
    PrivProtocol.AES256C: usm.USM_PRIV_CFB256_AES,
}
_USM_ERRORS = (
    errind.UnknownUserName,
    errind.WrongDigest,
    errind.UnknownSecurityName,
    errind.AuthenticationFailure,
    errind.AuthenticationError,
    errind.DecryptionError,
    errind.UnsupportedSecurityLevel,
    errind.NotInTimeWindow,
    errind.UnknownCommunityName,
)
_LOCAL_CRYPTO = (errind.EncryptionError, errind.NoEncryption)
_ERROR_STATUS_AUTH = {6, 16}  # noAccess, authorizationError (VACM said no)
_NULL = univ.Null("")
_LCD = CommandGeneratorLcdConfigurator()
_GET = cmdgen.GetCommandGenerator()
_BULK = cmdgen.BulkCommandGenerator()
_EXCEPTION_VALUES = (rfc1905.NoSuchObject, rfc1905.NoSuchInstance, rfc1905.EndOfMibView)
# A walk that needs more requests than this is looping on a broken agent.
MAX_WALK_REQUESTS = 2_000

_ENGINES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SnmpEngine] = (
    weakref.WeakKeyDictionary()
)


def engine_for_loop() -> SnmpEngine:
    """The running loop's SNMP engine, created on first use."""
    loop = asyncio.get_running_loop()
    engine = _ENGINES.get(loop)
    if engine is None:
        engine = SnmpEngine()
        _ENGINES[loop] = engine
    return engine


def close_engine_for_loop() -> None:
    """Close the running loop's engine (its UDP socket); the next poll makes a new one."""
    engine = _ENGINES.pop(asyncio.get_running_loop(), None)
    if engine is not None:
        engine.close_dispatcher()


def oid_of(text: str) -> Oid:
    return tuple(int(part) for part in text.strip(".").split("."))


def python_value(value: Any) -> Value | None:
    """A pysnmp value as int / str (OIDs, dotted) / bytes; None for exception values."""
    if isinstance(value, _EXCEPTION_VALUES):
        return None
    if isinstance(value, univ.ObjectIdentifier):
        return ".".join(str(part) for part in value)
    if isinstance(value, univ.OctetString):  # also IpAddress, Opaque
        return bytes(value.asOctets())
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def auth_data(target: SnmpTarget) -> CommunityData | UsmUserData:
    """pysnmp credentials for ``target`` (the only place secrets are unwrapped)."""
    if target.version == SnmpVersion.V2C:
        assert target.community is not None  # the model validator made sure
        # SNMPv2c is what most hospital switches speak; v3 is offered where they can.
        return CommunityData(target.community.get_secret_value(), mpModel=1)  # noqa: S508
    auth_key = None if target.auth_key is None else target.auth_key.get_secret_value()
    priv_key = None if target.priv_key is None else target.priv_key.get_secret_value()
    return UsmUserData(
        target.user,
        authKey=auth_key,
        privKey=priv_key,
        authProtocol=_AUTH[target.auth_protocol] if auth_key else usm.USM_AUTH_NONE,
        privProtocol=_PRIV[target.priv_protocol] if priv_key else usm.USM_PRIV_NONE,
    )


@dataclass(slots=True)
class Columns:
    """What a column walk found: rows per column (index → value), and its cost."""

    rows: dict[str, dict[Oid, Value]] = field(default_factory=dict)
    scalars: dict[str, Value] = field(default_factory=dict)
    # (column, index) → the agent clock (``clock`` scalar) read in the same request.
    clock: dict[tuple[str, Oid], int] = field(default_factory=dict)
    requests: int = 0
    varbinds: int = 0
    first_rtt: float | None = None

    def column(self, oid: str) -> dict[Oid, Value]:
        return self.rows.get(oid, {})

    def indexes(self) -> list[Oid]:
        return sorted({index for column in self.rows.values() for index in column})


class SnmpSession:
    """Requests to one target through one engine."""

    def __init__(self, engine: SnmpEngine, target: SnmpTarget, transport: UdpTransportTarget):
        self.engine = engine
        self.target = target
        self.transport = transport
        self._auth = auth_data(target)
        self._context = target.context_name.encode()

    @classmethod
    async def open(cls, target: SnmpTarget, engine: SnmpEngine | None = None) -> SnmpSession:
        """A session on ``engine`` (default: the loop's); resolves the host name."""
        try:
            transport = await UdpTransportTarget.create(
                (target.host, target.port), timeout=target.timeout, retries=target.retries
            )
        except (PySnmpError, OSError) as exc:
            detail = f"cannot resolve {target.host}: {exc}"
            raise TargetUnreachable(target.display, detail) from None
        return cls(engine or engine_for_loop(), target, transport)

    # -- requests ------------------------------------------------------------------------
    async def _send(
        self, generator: Any, varbinds: list[tuple[Any, Any]], *bulk: int
    ) -> list[tuple[Any, Any]]:
        try:
            addr_name, _params = _LCD.configure(
                self.engine, self._auth, self.transport, self._context
            )
        except PySnmpError as exc:
            raise ProtocolError(self.target.display, f"bad SNMP configuration: {exc}") from None
        future: asyncio.Future[tuple[Any, Any, Any, Any]] = (
            asyncio.get_running_loop().create_future()
        )

        def done(
            _engine: Any,
            _handle: Any,
            indication: Any,
            status: Any,
            index: Any,
            answer: Any,
            _ctx: Any,
        ) -> None:
            if not future.done():
                future.set_result((indication, status, index, answer))

        try:
            generator.send_varbinds(
                self.engine, addr_name, None, self._context, *bulk, varbinds, done, None
            )
        except PySnmpError as exc:  # e.g. a privacy protocol without its cipher library
            raise self._translate(getattr(exc, "errorIndication", None) or exc) from None
        indication, status, index, answer = await future
        if indication:
            raise self._translate(indication)
        if status:
            code = int(status)
            what = f"agent answered {status.prettyPrint()} (error-status {code}, index {index})"
            if code in _ERROR_STATUS_AUTH:
                raise AuthenticationFailed(self.target.display, what)
            raise ProtocolError(self.target.display, what)
        return list(answer)

    def _translate(self, indication: Any) -> CollectorError:
        target = self.target
        if isinstance(indication, errind.RequestTimedOut):
            attempts = target.retries + 1
            detail = f"no answer after {attempts} attempt(s) of {target.timeout:g}s"
            if target.version == SnmpVersion.V2C:
                detail += " (an SNMPv2c agent also stays silent on a wrong community)"
            else:
                detail += " (an SNMPv3 agent also stays silent on a wrong privacy key)"
            return TargetUnreachable(target.display, detail)
        if isinstance(indication, _USM_ERRORS):
            who = f"SNMPv3 user {target.user!r}" if target.user else "the community"
            return AuthenticationFailed(target.display, f"{who} rejected: {indication}")
        if isinstance(indication, _LOCAL_CRYPTO) or (
            isinstance(indication, PySnmpError) and "cipher" in str(indication).lower()
        ):
            return ProtocolError(
                target.display,
                f"privacy {target.priv_protocol} unavailable here ({indication}); "
                "pysnmp needs the 'cryptography' package for DES/AES",
            )
        return ProtocolError(target.display, f"SNMP error: {indication}")

    async def get(self, oids: Sequence[str]) -> dict[str, Value]:
        """GET of full instance OIDs; missing instances are left out."""
        answer = await self._send(_GET, [(rfc1902.ObjectName(oid), _NULL) for oid in oids])
        out: dict[str, Value] = {}
        for name, value in answer:
            converted = python_value(value)
            if converted is not None:
                out[str(name)] = converted
        return out

    async def walk_columns(
        self,
        columns: Sequence[str],
        *,
        scalars: Sequence[str] = (),
        clock: str | None = None,
        max_repetitions: int | None = None,
    ) -> Columns:
        """GETBULK walk of several columns of (usually) one table, each bounded to its own
        subtree; ``scalars`` ride as non-repeaters in the first request (a GETNEXT of
        ``1.3.6.1.2.1.1.3`` gives sysUpTime.0). ``clock`` (e.g. sysUpTime) rides in every
        request, so each value comes with the agent's time of reading it (a table that
        takes several requests is not read in one instant). Stops on the first error
        indication."""
        roots = [rfc1902.ObjectName(c) for c in columns]
        found = Columns(rows={c: {} for c in columns})
        last = list(roots)
        active = list(range(len(columns)))
        pending = [rfc1902.ObjectName(s) for s in scalars]
        ticking = None if clock is None else rfc1902.ObjectName(clock)
        if ticking is not None and ticking not in pending:
            pending.append(ticking)
        repetitions = max_repetitions or self.target.max_repetitions
        while active or pending:
            if found.requests >= MAX_WALK_REQUESTS:
                raise ProtocolError(self.target.display, "walk did not end (agent loops)")
            request = [(oid, _NULL) for oid in pending] + [(last[i], _NULL) for i in active]
            started = time.perf_counter()
            answer = await self._send(_BULK, request, len(pending), repetitions if active else 0)
            if found.first_rtt is None:
                found.first_rtt = time.perf_counter() - started
            found.requests += 1
            found.varbinds += len(answer)
            now: int | None = None
            for asked, (name, value) in zip(pending, answer, strict=False):
                converted = python_value(value)
                if converted is not None and tuple(name) == (*asked, 0):
                    found.scalars.setdefault(str(asked), converted)
                    if asked == ticking and isinstance(converted, int):
                        now = converted
            body = answer[len(pending) :]
            pending = [] if ticking is None else [ticking]
            if not active:
                break
            if not body:
                raise ProtocolError(self.target.display, "GETBULK answer without rows")
            still = set(active)
            width = len(active)
            for position, (name, value) in enumerate(body):
                col = active[position % width]
                if col not in still:
                    continue
                root = roots[col]
                if isinstance(value, rfc1905.EndOfMibView) or not root.isPrefixOf(name):
                    still.discard(col)
                    continue
                if name <= last[col]:
                    raise ProtocolError(self.target.display, f"OID not increasing at {name}")
                last[col] = name
                converted = python_value(value)
                if converted is not None:
                    index = tuple(name[len(root) :])
                    found.rows[columns[col]][index] = converted
                    if now is not None:
                        found.clock[(columns[col], index)] = now
            active = [col for col in active if col in still]
        return found
