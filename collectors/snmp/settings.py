"""Defaults of the SNMP collector (``[snmp]``, ``FULCRUM_SNMP_…``).

[snmp]
timeout_seconds = 2.0      # per attempt
retries = 1                # a dead agent costs timeout x (retries + 1)
max_repetitions = 25       # GETBULK rows asked per request on a first walk
port = 161

Credentials are not here: they belong to the targets (credential profiles of the
scheduler's target list); :meth:`SnmpSettings.target` builds an ``SnmpTarget`` with these
defaults.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from collectors.snmp.target import (
    DEFAULT_MAX_REPETITIONS,
    DEFAULT_PORT,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    SnmpTarget,
)
from itsm_core.settings import Section, register_section


class SnmpSettings(Section):
    """Request defaults of SNMP polls (``FULCRUM_SNMP_…``)."""

    model_config = SettingsConfigDict(env_prefix="FULCRUM_SNMP_", extra="forbid")

    timeout_seconds: float = Field(
        default=DEFAULT_TIMEOUT, gt=0, le=60, description="Wait for one answer, per attempt."
    )
    retries: int = Field(
        default=DEFAULT_RETRIES, ge=0, le=10, description="Attempts after the first one."
    )
    max_repetitions: int = Field(
        default=DEFAULT_MAX_REPETITIONS,
        ge=1,
        le=200,
        description="GETBULK rows asked per request while a device's table sizes are unknown.",
    )
    port: int = Field(default=DEFAULT_PORT, ge=1, le=65535, description="Default agent port.")

    def target(self, host: str, **credentials: Any) -> SnmpTarget:
        """An ``SnmpTarget`` for ``host`` with these defaults; ``credentials`` (version,
        community, user, keys, port, profile…) override them."""
        values: dict[str, Any] = {
            "port": self.port,
            "timeout": self.timeout_seconds,
            "retries": self.retries,
            "max_repetitions": self.max_repetitions,
        }
        values.update(credentials)
        return SnmpTarget(host=host, **values)


register_section("snmp", SnmpSettings)
