"""Settings of the collector scheduler (``[collectors]``) and the metric store (``[metrics]``).

[collectors]
concurrency = 64                 # polls in flight at once, all targets together
default_interval_seconds = 60
targets_file = "/etc/fulcrum/targets.yaml"
failures_before_alert = 3

[metrics]
raw_retention_days = 7
rollup_retention_days = 90
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from itsm_core.settings import Section, register_section


class CollectorSettings(Section):
    """How the scheduler polls targets (``FULCRUM_COLLECTORS_…``)."""

    model_config = SettingsConfigDict(env_prefix="FULCRUM_COLLECTORS_", extra="forbid")

    enabled: bool = Field(default=True, description="Run the poll scheduler in `fulcrum serve`.")
    concurrency: int = Field(
        default=64, ge=1, le=10_000, description="Polls in flight at once, over all targets."
    )
    default_interval_seconds: float = Field(
        default=60.0, ge=1, le=86_400, description="Poll interval of targets that name none."
    )
    jitter_share: float = Field(
        default=0.1,
        ge=0,
        le=0.5,
        description="Each wait is the interval ± this share of it, so polls do not bunch up.",
    )
    timeout_seconds: float = Field(
        default=60.0, gt=0, le=3600, description="A poll taking longer fails as unreachable."
    )
    backoff_base_seconds: float = Field(
        default=30.0, gt=0, le=86_400, description="Wait after the first failure (doubling)."
    )
    backoff_max_seconds: float = Field(
        default=900.0,
        gt=0,
        le=86_400,
        description="Longest wait between polls of a failing target.",
    )
    failures_before_alert: int = Field(
        default=3, ge=1, le=1000, description="Consecutive failed polls that raise an alert."
    )
    targets_file: Path | None = Field(
        default=None, description="YAML or TOML file listing targets and credential profiles."
    )
    cmdb_targets: bool = Field(
        default=True,
        description="Also poll network_device CIs that have a management address and a profile.",
    )
    refresh_seconds: float = Field(
        default=300.0, ge=1, le=86_400, description="How often the target list is re-read."
    )

    @model_validator(mode="after")
    def _backoff_ordered(self) -> CollectorSettings:
        if self.backoff_max_seconds < self.backoff_base_seconds:
            raise ValueError("backoff_max_seconds must not be below backoff_base_seconds")
        return self


class MetricStoreSettings(Section):
    """How long the metric store keeps what (``FULCRUM_METRICS_…``)."""

    model_config = SettingsConfigDict(env_prefix="FULCRUM_METRICS_", extra="forbid")

    raw_retention_days: float = Field(
        default=7, gt=0, le=3650, description="Raw samples older than this are deleted."
    )
    rollup_retention_days: float = Field(
        default=90, gt=0, le=36_500, description="5-minute roll-ups older than this are deleted."
    )
    rollup_lookback_minutes: int = Field(
        default=60,
        ge=5,
        le=7 * 24 * 60,
        description="Each roll-up run recomputes buckets this far back, for late samples.",
    )

    @model_validator(mode="after")
    def _rollups_outlive_raw(self) -> MetricStoreSettings:
        if self.rollup_retention_days < self.raw_retention_days:
            raise ValueError("rollup_retention_days must not be below raw_retention_days")
        return self


register_section("collectors", CollectorSettings)
register_section("metrics", MetricStoreSettings)
