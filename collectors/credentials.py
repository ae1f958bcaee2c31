"""Credentials of polled targets, as the targets file gives them (all secrets ``SecretStr``).

A *profile* is a named set of credentials for one collector kind; targets in the file
and network devices in the CMDB (attribute ``snmp_profile``) refer to it by name, so a
secret is written once and never stored in the CMDB.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from collectors.prometheus.settings import PrometheusQuery
from collectors.proxmox.target import parse_token
from collectors.snmp.choices import AuthProtocol, PrivProtocol, SnmpVersion
from collectors.snmp.target import SnmpTarget

ShortText = Annotated[str, Field(min_length=1, max_length=200)]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SnmpCredentials(_Frozen):
    """SNMPv2c (a community) or v3 (a USM user with optional auth and privacy).

    Checked as ``collectors.snmp.SnmpTarget`` checks them (v3 keys of 8+ characters,
    privacy only with authentication), so a bad profile is refused when the file loads.
    """

    version: SnmpVersion = SnmpVersion.V2C
    community: SecretStr | None = None
    user: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    auth_protocol: AuthProtocol | None = Field(default=None, description="e.g. SHA, SHA-256")
    auth_key: SecretStr | None = None
    priv_protocol: PrivProtocol | None = Field(default=None, description="e.g. AES128, DES")
    priv_key: SecretStr | None = None

    @model_validator(mode="after")
    def _complete(self) -> SnmpCredentials:
        try:
            SnmpTarget(host="checked.invalid", **self.target_fields())
        except ValidationError as exc:
            # The message names the rule, never a value (errors() may echo input).
            problems = (str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
            raise ValueError("; ".join(problems)) from None
        return self

    def target_fields(self) -> dict[str, Any]:
        """Keyword arguments of ``SnmpTarget`` / ``SnmpSettings.target``."""
        return self.model_dump(exclude_none=True, exclude={"kind"})

    def secrets(self) -> list[str]:
        return _revealed(self.community, self.auth_key, self.priv_key)


class ProxmoxCredentials(_Frozen):
    """A Proxmox VE API token (``user@realm!tokenid=secret``) and TLS trust."""

    token: SecretStr
    verify_tls: bool | None = Field(default=None, description="Unset: [proxmox] verify_tls.")
    ca_bundle: Annotated[str, Field(max_length=1000)] | None = None
    cluster: ShortText | None = None

    @field_validator("token")
    @classmethod
    def _token_form(cls, value: SecretStr) -> SecretStr:
        parse_token(value.get_secret_value())  # its message never repeats the secret
        return value

    def token_parts(self) -> tuple[str, SecretStr]:
        """(``user@realm!tokenid``, secret)."""
        return parse_token(self.token.get_secret_value())

    def secrets(self) -> list[str]:
        value = self.token.get_secret_value()
        # The whole token and its secret part (after the last '=').
        return _revealed(self.token) + ([value.rsplit("=", 1)[1]] if "=" in value else [])


class PrometheusCredentials(_Frozen):
    """Bearer token or basic auth (or neither) and TLS trust of a Prometheus server."""

    bearer_token: SecretStr | None = None
    username: ShortText | None = None
    password: SecretStr | None = None
    verify_tls: bool = True
    ca_bundle: Annotated[str, Field(max_length=1000)] | None = None

    @model_validator(mode="after")
    def _one_kind_of_auth(self) -> PrometheusCredentials:
        if self.bearer_token is not None and self.username is not None:
            raise ValueError("give either bearer_token or username/password, not both")
        if (self.username is None) != (self.password is None):
            raise ValueError("basic auth needs both username and password")
        return self

    def secrets(self) -> list[str]:
        return _revealed(self.bearer_token, self.password)


Credentials = SnmpCredentials | ProxmoxCredentials | PrometheusCredentials


class SnmpProfile(SnmpCredentials):
    kind: Literal["snmp"]


class ProxmoxProfile(ProxmoxCredentials):
    kind: Literal["proxmox"]


class PrometheusProfile(PrometheusCredentials):
    kind: Literal["prometheus"]


Profile = Annotated[SnmpProfile | ProxmoxProfile | PrometheusProfile, Field(discriminator="kind")]


class PrometheusOptions(_Frozen):
    """What a Prometheus target polls: its PromQL queries."""

    queries: list[PrometheusQuery] = Field(min_length=1, max_length=500)


def _revealed(*secrets: SecretStr | None) -> list[str]:
    return [s.get_secret_value() for s in secrets if s is not None and s.get_secret_value()]
