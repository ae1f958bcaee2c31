"""``[proxmox]`` settings: how the Proxmox VE collector trusts and waits for the API.

Which clusters to poll, and their API tokens, come with the scheduler's targets
(``[collectors] targets_file``); ``ProxmoxSettings.target(…)`` turns one of them into a
``ProxmoxTarget`` with these defaults filled in.

```toml
[proxmox]
ca_bundle = "/etc/fulcrum/pve-root-ca.pem"   # a copy of the cluster's pve-root-ca.pem
timeout_seconds = 10
```
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from collectors.proxmox.target import ProxmoxTarget
from itsm_core.settings import Section, register_section


class ProxmoxSettings(Section):
    """Proxmox VE collection (``FULCRUM_PROXMOX_…``)."""

    model_config = SettingsConfigDict(env_prefix="FULCRUM_PROXMOX_", extra="forbid")

    verify_tls: bool = Field(
        default=True, description="Verify the API's TLS certificate (a target may override)."
    )
    # A string, not a Path: ``fulcrum config show`` prints the section as JSON.
    ca_bundle: str | None = Field(
        default=None,
        max_length=1000,
        description="PEM CA bundle trusted for targets naming none; unset: certifi's public CAs.",
    )
    timeout_seconds: float = Field(default=10.0, gt=0, le=300, description="Per request.")
    deadline_seconds: float = Field(
        default=120.0, gt=0, le=3600, description="A whole poll of one cluster."
    )

    def target(
        self,
        url: str,
        token_id: str,
        token_secret: SecretStr,
        *,
        cluster: str | None = None,
        verify_tls: bool | None = None,
        ca_bundle: str | Path | None = None,
    ) -> ProxmoxTarget:
        """A target with this section's TLS and timeout defaults where it names none."""
        bundle = ca_bundle if ca_bundle is not None else self.ca_bundle
        return ProxmoxTarget(
            url=url,
            token_id=token_id,
            token_secret=token_secret,
            cluster=cluster,
            verify_tls=self.verify_tls if verify_tls is None else verify_tls,
            ca_bundle=Path(bundle) if bundle else None,
            timeout_seconds=self.timeout_seconds,
            deadline_seconds=self.deadline_seconds,
        )


register_section("proxmox", ProxmoxSettings)
