"""Settings of the Prometheus collector (``[prometheus]``, ``FULCRUM_PROMETHEUS_…``).

[prometheus]
url = "http://prometheus.example:9090"
bearer_token = "…"                 # or username + password (basic auth)
[[prometheus.queries]]
name = "node_load1"
promql = "node_load1"
ci = "{instance|host}"             # → CIRef("prometheus", "10.1.2.3")
[[prometheus.queries]]
name = "link_latency_seconds"
promql = "avg by (instance) (probe_duration_seconds)"
range_seconds = 3600               # a range query over the last hour…
step_seconds = 15                  # …at 15 s resolution (split under 11,000 points)
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from collectors.prometheus.templates import LabelTemplate
from itsm_core.settings import Section, register_section

# Prometheus refuses a range query of more than 11,000 points per series.
PROMETHEUS_MAX_POINTS = 11_000


class PrometheusQuery(BaseModel):
    """One configured PromQL query and how its series map to metrics and CIs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$",
        max_length=200,
        description="Metric name the samples are stored under.",
    )
    promql: str = Field(min_length=1, max_length=20_000, description="The PromQL expression.")
    range_seconds: float | None = Field(
        default=None,
        gt=0,
        le=366 * 86_400,
        description="Set: a range query over the last N seconds; unset: an instant query.",
    )
    step_seconds: float = Field(
        default=60.0, ge=0.001, le=86_400, description="Resolution of a range query."
    )
    ci: str | None = Field(
        default=None,
        max_length=500,
        description='Label template naming the CI, e.g. "{instance|host}"; unset: no CI.',
    )
    ci_source: str = Field(
        default="prometheus",
        min_length=1,
        max_length=40,
        description='CI source of the rendered id ("name": the text is a CI name).',
    )

    @field_validator("ci")
    @classmethod
    def _template_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            LabelTemplate(value)  # raises ValueError with the reason
        return value

    def template(self) -> LabelTemplate | None:
        return None if self.ci is None else LabelTemplate(self.ci)


class PrometheusSettings(Section):
    """Where the Prometheus collector reads and what (``FULCRUM_PROMETHEUS_…``)."""

    model_config = SettingsConfigDict(env_prefix="FULCRUM_PROMETHEUS_", extra="forbid")

    url: str = Field(
        default="",
        max_length=2000,
        pattern=r"^(https?://\S+)?$",
        description="Base URL of the Prometheus server; empty: the collector is off.",
    )
    bearer_token: SecretStr | None = Field(
        default=None, description="Sent as `Authorization: Bearer …` (e.g. behind a proxy)."
    )
    username: str | None = Field(default=None, max_length=200, description="Basic-auth user.")
    password: SecretStr | None = Field(default=None, description="Basic-auth password.")
    timeout_seconds: float = Field(
        default=10.0, gt=0, le=300, description="Per-request timeout (connect and read)."
    )
    verify_tls: bool = Field(default=True, description="Verify the server's certificate.")
    ca_bundle: Path | None = Field(
        default=None, description="CA bundle (PEM) to verify an https URL against."
    )
    max_points_per_request: int = Field(
        default=PROMETHEUS_MAX_POINTS,
        ge=2,
        le=PROMETHEUS_MAX_POINTS,
        description="Range queries are split so no request asks for more points per series.",
    )
    queries: list[PrometheusQuery] = Field(
        default_factory=list, max_length=500, description="The PromQL queries to poll."
    )

    @model_validator(mode="after")
    def _one_kind_of_auth(self) -> PrometheusSettings:
        if self.bearer_token is not None and self.username is not None:
            raise ValueError("give either bearer_token or username/password, not both")
        if (self.username is None) != (self.password is None):
            raise ValueError("basic auth needs both username and password")
        return self

    def basic_auth(self) -> tuple[str, str] | None:
        if self.username is None or self.password is None:
            return None
        return self.username, self.password.get_secret_value()

    def token(self) -> str | None:
        return None if self.bearer_token is None else self.bearer_token.get_secret_value()


register_section("prometheus", PrometheusSettings)
