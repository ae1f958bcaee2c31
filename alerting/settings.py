"""Settings of the alert pipeline: correlation windows, flapping, the dead-man, limits.

Registered as the ``[alerting]`` section (environment ``FULCRUM_ALERTING_…``); read with
``settings.section(AlertingSettings)``. docs/configuration.md and docs/alerting.md
describe each field.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from itsm_core.settings import Section, register_section


class AlertingSettings(Section):
    """The alert pipeline (``FULCRUM_ALERTING_…``)."""

    model_config = SettingsConfigDict(env_prefix="FULCRUM_ALERTING_", extra="forbid")

    correlation_window_minutes: int = Field(
        default=15,
        ge=1,
        le=7 * 24 * 60,
        description=(
            "An alert on a CI joins that CI's open incident if the incident was opened or "
            "last joined by an alert within this many minutes (or still has firing "
            "alerts); a re-fire within this long of its incident's resolution reopens it."
        ),
    )
    upstream_window_minutes: int = Field(
        default=10,
        ge=1,
        le=24 * 60,
        description=(
            "Alerts on CIs downstream of a CI with an open alert incident active within "
            "this many minutes join it as symptoms; an upstream incident adopts "
            "downstream incidents the pipeline opened this recently."
        ),
    )
    upstream_depth: int = Field(
        default=4, ge=0, le=20, description="CMDB edges walked to find an upstream cause (0: off)."
    )
    flapping_transitions: int = Field(
        default=4,
        ge=2,
        le=1000,
        description="An alert that changes state this many times within the flapping window flaps.",
    )
    flapping_window_minutes: int = Field(
        default=10, ge=1, le=24 * 60, description="The window the transitions are counted in."
    )
    flapping_quiet_minutes: int = Field(
        default=20,
        ge=1,
        le=7 * 24 * 60,
        description="A flapping alert is damped until it has made no transition this long.",
    )
    maintenance_covers_downstream: bool = Field(
        default=True,
        description=(
            "Maintenance windows and changes in progress on a CI also suppress alerts of the "
            "CIs downstream of it (within upstream_depth)."
        ),
    )
    deadman_enabled: bool = Field(
        default=True, description="Watch Alertmanager's always-firing Watchdog alert."
    )
    deadman_alert_name: str = Field(
        default="Watchdog",
        min_length=1,
        max_length=200,
        description="The alertname of the always-firing heartbeat alert.",
    )
    deadman_interval_minutes: int = Field(
        default=10,
        ge=1,
        le=24 * 60,
        description="No heartbeat for this many minutes opens an incident about the pipeline.",
    )
    deadman_auto_resolve: bool = Field(
        default=True,
        description="Resolve the dead-man incident when the heartbeat returns (else the NOC does).",
    )
    max_alerts_per_payload: int = Field(
        default=1000,
        ge=1,
        le=10_000,
        description=(
            "A webhook carrying more alerts is refused with 422 (set Alertmanager's "
            "max_alerts below it)."
        ),
    )
    delivery_retention_hours: int = Field(
        default=48,
        ge=1,
        le=24 * 365,
        description="How long delivery digests are kept to recognise a repeated delivery.",
    )


register_section("alerting", AlertingSettings)
