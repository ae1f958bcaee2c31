"""The scheduler's view of a collector: ``Poller.poll(target) -> PollResult``.

Each real collector has a small adapter here that turns a :class:`~collectors.targets.Target`
(address + credentials from the targets file or the CMDB) into that collector's own
call, and keeps the per-target state the collector needs between polls (counter
readings for rates). ``default_pollers(settings)`` is the registry by target kind; tests
and the CLI use the same adapters.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Protocol, runtime_checkable

from collectors.choices import TargetKind
from collectors.credentials import PrometheusCredentials, ProxmoxCredentials, SnmpCredentials
from collectors.errors import CollectorError, ProtocolError, TargetUnreachable
from collectors.prometheus import PrometheusSettings, poll_prometheus
from collectors.proxmox import ProxmoxPollState, ProxmoxSettings, poll_proxmox
from collectors.result import PollResult
from collectors.samples import Sample
from collectors.snmp import (
    RateState,
    SnmpSettings,
    SnmpTarget,
    close_engine_for_loop,
    failure_samples,
    poll_snmp,
)
from collectors.targets import Target, snmp_address
from itsm_core.settings import Settings

log = logging.getLogger("fulcrum.collectors.pollers")


class Poller(Protocol):
    """Polls one target once; raises ``collectors.errors.CollectorError`` on failure."""

    async def poll(self, target: Target) -> PollResult: ...


async def poll_once(poller: Poller | None, target: Target, timeout: float) -> PollResult:
    """One bounded poll; every failure leaves as a ``CollectorError``.

    No answer within ``timeout`` is ``TargetUnreachable``; a collector raising anything
    else (a bug) is ``ProtocolError`` naming only the exception type, since its message
    might quote a credential.
    """
    if poller is None:
        raise ProtocolError(target.key, f"no collector for kind {target.kind!r}")
    try:
        return await asyncio.wait_for(poller.poll(target), timeout)
    except CollectorError:
        raise
    except TimeoutError:
        raise TargetUnreachable(target.key, f"no complete answer within {timeout:g} s") from None
    except Exception as exc:
        log.exception("collector for %s crashed", target.key)
        raise ProtocolError(target.key, f"collector crashed ({type(exc).__name__})") from None


@runtime_checkable
class RecordsFailures(Protocol):
    """A poller with samples to store when a poll fails (SNMP's ``snmp_up 0``)."""

    def failure_samples(self, target: Target, at: datetime) -> list[Sample]: ...


@runtime_checkable
class Closeable(Protocol):
    """A poller holding resources of the event loop (SNMP's engine and UDP socket)."""

    async def aclose(self) -> None: ...


class SnmpPoller:
    """``collectors.snmp.poll_snmp`` with ``[snmp]`` defaults and one shared ``RateState``."""

    def __init__(self, config: SnmpSettings) -> None:
        self.config = config
        self.rates = RateState()

    def snmp_target(self, target: Target) -> SnmpTarget:
        credentials = target.credentials
        if not isinstance(credentials, SnmpCredentials):
            raise ProtocolError(target.key, "no SNMP credentials configured")
        host, port = snmp_address(target.address)
        return self.config.target(host, port=port, **credentials.target_fields())

    async def poll(self, target: Target) -> PollResult:
        return await poll_snmp(self.snmp_target(target), self.rates)

    def failure_samples(self, target: Target, at: datetime) -> list[Sample]:
        try:
            return failure_samples(self.snmp_target(target), at)
        except ProtocolError:
            return []

    async def aclose(self) -> None:
        close_engine_for_loop()


class ProxmoxPoller:
    """``collectors.proxmox.poll_proxmox`` with ``[proxmox]`` defaults and rate state."""

    def __init__(self, config: ProxmoxSettings) -> None:
        self.config = config
        self._states: dict[str, ProxmoxPollState] = {}

    async def poll(self, target: Target) -> PollResult:
        credentials = target.credentials
        if not isinstance(credentials, ProxmoxCredentials):
            raise ProtocolError(target.key, "no Proxmox API token configured")
        token_id, secret = credentials.token_parts()
        pve = self.config.target(
            target.address,
            token_id,
            secret,
            cluster=credentials.cluster,
            verify_tls=credentials.verify_tls,
            ca_bundle=credentials.ca_bundle,
        )
        state = self._states.setdefault(target.key, ProxmoxPollState())
        return await poll_proxmox(pve, state)


class PrometheusPoller:
    """``collectors.prometheus.poll_prometheus`` with the target's queries."""

    def __init__(self, config: PrometheusSettings) -> None:
        self.config = config

    async def poll(self, target: Target) -> PollResult:
        if target.options is None:
            raise ProtocolError(target.key, "no PromQL queries configured")
        credentials = target.credentials
        if not isinstance(credentials, PrometheusCredentials):
            credentials = PrometheusCredentials()
        verify: bool | str = credentials.verify_tls
        if credentials.verify_tls and credentials.ca_bundle:
            verify = credentials.ca_bundle
        basic = None
        if credentials.username is not None and credentials.password is not None:
            basic = (credentials.username, credentials.password.get_secret_value())
        token = credentials.bearer_token
        return await poll_prometheus(
            target.address,
            target.options.queries,
            token=None if token is None else token.get_secret_value(),
            basic_auth=basic,
            timeout=self.config.timeout_seconds,
            verify=verify,
            max_points=self.config.max_points_per_request,
        )


def default_pollers(settings: Settings) -> Mapping[str, Poller]:
    """The real collectors by target kind."""
    return {
        TargetKind.SNMP: SnmpPoller(settings.section(SnmpSettings)),
        TargetKind.PROXMOX: ProxmoxPoller(settings.section(ProxmoxSettings)),
        TargetKind.PROMETHEUS: PrometheusPoller(settings.section(PrometheusSettings)),
    }
