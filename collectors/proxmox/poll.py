"""``poll_proxmox``: one poll of one Proxmox VE target, off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from collectors.proxmox.client import ProxmoxClient
from collectors.proxmox.mapping import build_result
from collectors.proxmox.rates import ProxmoxPollState
from collectors.proxmox.reading import ClusterReading, read_cluster
from collectors.proxmox.target import ProxmoxTarget
from collectors.result import PollResult
from itsm_core.timeutil import utcnow


def read_target(target: ProxmoxTarget, clock: Callable[[], datetime] = utcnow) -> ClusterReading:
    """The blocking part: connect, read, close (raises ``collectors.errors`` only)."""
    with ProxmoxClient(target) as client:
        return read_cluster(client, clock)


async def poll_proxmox(
    target: ProxmoxTarget,
    state: ProxmoxPollState | None = None,
    *,
    clock: Callable[[], datetime] = utcnow,
) -> PollResult:
    """Poll ``target`` once: samples, node and VM CIs, ``runs_on`` relations.

    proxmoxer blocks, so the HTTP calls run in a worker thread; the rates are computed
    back on the caller's loop against ``state`` (keep one per target between polls;
    without it no rates are produced). Raises ``AuthenticationFailed``,
    ``TargetUnreachable`` or ``ProtocolError`` (``collectors.errors``).
    """
    reading = await asyncio.to_thread(read_target, target, clock)
    return build_result(target.url, reading, state)
