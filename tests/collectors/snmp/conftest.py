"""SNMP collector tests: real agents on loopback (snmpd, snmpsim) and a loop helper."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from collectors.snmp import close_engine_for_loop
from tests.peers.snmp import snmpd_peer, snmpsim_peer  # noqa: F401  (fixtures)

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on a fresh loop, closing that loop's SNMP engine afterwards."""

    async def main() -> T:
        try:
            return await coro
        finally:
            close_engine_for_loop()

    return asyncio.run(main())
