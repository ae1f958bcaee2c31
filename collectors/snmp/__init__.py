"""SNMP collector (pysnmp 7, asyncio): v2c and v3 agents into samples and CMDB discovery.

The entry point (the scheduler and ``fulcrum poll snmp`` call it)::

    async def poll_snmp(
        target: SnmpTarget,               # host, port, version, community / v3 user+keys,
                                          # timeout, retries, max_repetitions (frozen)
        state: RateState | None = None,   # previous counter readings → rates; keep one
                                          # per process and pass it to every poll
        *,
        engine: SnmpEngine | None = None, # default: one engine per event loop
    ) -> PollResult

The result: samples (metric names in ``collectors.snmp.poll``; device figures on
``CIRef("snmp", device_id)``, interface figures on ``CIRef("snmp", "<device_id>:<ifIndex>")``
labelled ``ifName``/``ifIndex``), the ``network_device`` and its ``interface`` CIs with
``interface part_of network_device`` relations, ``complete={"interface"}`` and
``scope="<device_id>:"`` (discovery marks only this device's vanished interfaces
missing). ``device_id`` is ``host`` on port 161, else ``host:port`` — or
``SnmpTarget.external_id`` when one address answers for several devices.

It raises :mod:`collectors.errors`: ``TargetUnreachable`` (no answer — with v2c a wrong
community looks the same), ``AuthenticationFailed`` (v3 USM: unknown user, wrong
digest…), ``ProtocolError`` (anything else). Messages never carry a secret.
``failure_samples(target)`` gives the ``snmp_up 0`` sample for a failed poll.

Before the event loop ends, call ``close_engine_for_loop()`` (closes the engine's UDP
socket). ``SnmpSettings`` (``[snmp]``) holds request defaults; ``settings.target(host,
community=…)`` builds a target with them. ``RateState.to_dict()/from_dict()`` persist
the rate baselines across a restart.

Example::

    target = SnmpTarget(host="10.0.0.1", community=SecretStr("public"))
    state = RateState()
    result = await poll_snmp(target, state)
"""

from collectors.snmp.choices import AuthProtocol, PrivProtocol, SnmpVersion
from collectors.snmp.poll import failure_samples, poll_snmp
from collectors.snmp.rates import RateState
from collectors.snmp.session import SnmpEngine, close_engine_for_loop, engine_for_loop
from collectors.snmp.settings import SnmpSettings
from collectors.snmp.target import SnmpTarget

__all__ = [
    "AuthProtocol",
    "PrivProtocol",
    "RateState",
    "SnmpEngine",
    "SnmpSettings",
    "SnmpTarget",
    "SnmpVersion",
    "close_engine_for_loop",
    "engine_for_loop",
    "failure_samples",
    "poll_snmp",
]
