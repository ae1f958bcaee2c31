"""One Proxmox VE cluster (or standalone host) to talk to: its URL, API token and TLS trust.

Authentication is an API token only (``PVEAPIToken=user@realm!tokenid=secret``): no
ticket to renew, no CSRF token, and it can be limited to read-only privileges
(``PVEAuditor`` on ``/`` for the collector). The secret is a ``SecretStr`` — never logged,
never in an error message, masked in ``fulcrum config show``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_serializer, field_validator

PVE_PORT = 8006
MASK = "**********"
# user@realm!tokenid — PVE token names start with a letter.
TOKEN_ID_PATTERN = r"^[^\s@!=]+@[A-Za-z0-9._-]+![A-Za-z][A-Za-z0-9._-]*$"  # noqa: S105 - a pattern
# Becomes part of every external id, so no slashes.
CLUSTER_LABEL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$"
_TOKEN = re.compile(r"^(?:PVEAPIToken=)?(?P<id>[^=\s]+)=(?P<secret>\S+)$")

TokenId = Annotated[str, Field(pattern=TOKEN_ID_PATTERN, max_length=200)]
ClusterLabel = Annotated[str, Field(pattern=CLUSTER_LABEL_PATTERN)]


def parse_token(token: str) -> tuple[str, SecretStr]:
    """``[PVEAPIToken=]user@realm!tokenid=secret`` → (token id, secret).

    The error message never repeats the secret.
    """
    match = _TOKEN.match(token.strip())
    if match is None or not re.match(TOKEN_ID_PATTERN, match["id"]):
        raise ValueError("expected an API token as user@realm!tokenid=secret")
    return match["id"], SecretStr(match["secret"])


class ProxmoxTarget(BaseModel):
    """How to reach one Proxmox VE cluster.

    ``cluster`` names it in external ids and labels; left empty, the collector uses the
    cluster name PVE reports (or the node name of a standalone host). Set it when a
    standalone host may later join a cluster, so its CIs keep their identity.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(max_length=500, description="https://host[:8006][/prefix]")
    token_id: TokenId
    token_secret: SecretStr
    verify_tls: bool = True
    ca_bundle: Path | None = Field(
        default=None, description="PEM CA bundle to verify the API's certificate with."
    )
    cluster: ClusterLabel | None = None
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    # A whole poll (one request per guest) gives up after this long.
    deadline_seconds: float = Field(default=120.0, gt=0, le=3600)

    @field_validator("url")
    @classmethod
    def _https_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme != "https" or not parts.hostname:
            raise ValueError("must be an https:// URL of the Proxmox VE API")
        if parts.username or parts.password or parts.query or parts.fragment:
            raise ValueError("give the credentials as an API token, not in the URL")
        _ = parts.port  # raises ValueError on a bad port
        return value.strip().rstrip("/")

    @field_serializer("token_secret")
    def _masked(self, _value: SecretStr) -> str:
        return MASK

    @classmethod
    def from_token(cls, url: str, token: str, **fields: Any) -> ProxmoxTarget:
        """A target from the CLI's ``--token user@realm!tokenid=secret`` form."""
        token_id, secret = parse_token(token)
        return cls(url=url, token_id=token_id, token_secret=secret, **fields)

    @property
    def host(self) -> str:
        host = urlsplit(self.url).hostname
        assert host is not None  # checked by the validator
        return host

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or PVE_PORT

    @property
    def path_prefix(self) -> str | None:
        """A reverse proxy's path in front of ``/api2/json`` (None for none)."""
        path = urlsplit(self.url).path.strip("/")
        if path.endswith("api2/json"):
            path = path[: -len("api2/json")].strip("/")
        return path or None

    @property
    def user(self) -> str:
        return self.token_id.split("!", 1)[0]

    @property
    def token_name(self) -> str:
        return self.token_id.split("!", 1)[1]

    @property
    def tls_verify(self) -> bool | str:
        """What ``requests`` takes as ``verify``: off, the default trust store, or a file."""
        if not self.verify_tls:
            return False
        return str(self.ca_bundle) if self.ca_bundle is not None else True
