"""What to poll and how to authenticate: one SNMP agent (``SnmpTarget``).

Credentials are ``SecretStr``: ``repr``/``str`` of a target and every error message show
``**********``, never the community or a v3 key. The identity of the polled device in
the CMDB and in samples is :attr:`SnmpTarget.device_id` (``host`` on port 161, else
``host:port``; IPv6 in brackets; or ``external_id`` when set), not a secret and not the
sysName (two devices may share a sysName).
"""

from __future__ import annotations

import ipaddress

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from collectors.snmp.choices import AuthProtocol, PrivProtocol, SnmpVersion

DEFAULT_PORT = 161
DEFAULT_TIMEOUT = 2.0
DEFAULT_RETRIES = 1
DEFAULT_MAX_REPETITIONS = 25
# RFC 3414 §11.2: a USM passphrase has at least 8 characters (net-snmp refuses shorter).
MIN_USM_PASSPHRASE = 8


class SnmpTarget(BaseModel):
    """One agent to poll, with its credentials and request tuning."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = Field(min_length=1, max_length=253, description="IP address or DNS name.")
    port: int = Field(default=DEFAULT_PORT, ge=1, le=65535)
    version: SnmpVersion = SnmpVersion.V2C
    community: SecretStr | None = Field(default=None, description="SNMPv2c community.")
    user: str | None = Field(default=None, min_length=1, max_length=32, description="v3 user.")
    auth_protocol: AuthProtocol = AuthProtocol.SHA
    auth_key: SecretStr | None = Field(default=None, description="v3 auth passphrase.")
    priv_protocol: PrivProtocol = PrivProtocol.AES128
    priv_key: SecretStr | None = Field(default=None, description="v3 privacy passphrase.")
    context_name: str = Field(default="", max_length=32)
    timeout: float = Field(default=DEFAULT_TIMEOUT, gt=0, le=60, description="Per attempt, s.")
    retries: int = Field(default=DEFAULT_RETRIES, ge=0, le=10)
    max_repetitions: int = Field(default=DEFAULT_MAX_REPETITIONS, ge=1, le=200)
    profile: str | None = Field(
        default=None, max_length=200, description="Credential profile name (for the CMDB)."
    )
    external_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=180,
        pattern=r"^\S+$",
        description="The device's CMDB external id when host[:port] is not unique "
        "(a simulator or proxy answering for several devices by community).",
    )

    @field_validator("host")
    @classmethod
    def _plain_host(cls, value: str) -> str:
        value = value.strip().strip("[]")
        if not value or any(c.isspace() or c in "/@?#" for c in value):
            raise ValueError("host must be an IP address or a DNS name")
        return value

    @model_validator(mode="after")
    def _credentials_fit_version(self) -> SnmpTarget:
        if self.version == SnmpVersion.V2C:
            if self.community is None or not self.community.get_secret_value():
                raise ValueError("SNMPv2c needs a community")
            if self.user is not None:
                raise ValueError("a v3 user makes no sense with SNMPv2c")
            return self
        if self.user is None:
            raise ValueError("SNMPv3 needs a user")
        for name, key in (("auth_key", self.auth_key), ("priv_key", self.priv_key)):
            if key is not None and len(key.get_secret_value()) < MIN_USM_PASSPHRASE:
                raise ValueError(f"{name} must have at least {MIN_USM_PASSPHRASE} characters")
        if self.priv_key is not None and self.auth_key is None:
            raise ValueError("SNMPv3 privacy needs authentication (auth_key)")
        return self

    @property
    def security_level(self) -> str:
        """``noAuthNoPriv``, ``authNoPriv`` or ``authPriv`` (v3); ``community`` for v2c."""
        if self.version == SnmpVersion.V2C:
            return "community"
        if self.auth_key is None:
            return "noAuthNoPriv"
        return "authNoPriv" if self.priv_key is None else "authPriv"

    @property
    def device_id(self) -> str:
        """The device's external id in the CMDB and its samples' CI."""
        if self.external_id is not None:
            return self.external_id
        host = self.host
        try:
            if ipaddress.ip_address(host).version == 6:
                host = f"[{host}]"
        except ValueError:
            pass
        return host if self.port == DEFAULT_PORT else f"{host}:{self.port}"

    @property
    def display(self) -> str:
        """How errors and logs name the target (no secret): ``snmp://`` + the device id."""
        return f"snmp://{self.device_id}"
