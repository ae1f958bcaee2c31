"""Proxmox VE collector: nodes and guests (QEMU VMs, LXC containers) over the PVE API.

Entry point (the scheduler and ``fulcrum poll proxmox URL --token …`` call it)::

    from collectors.proxmox import ProxmoxPollState, ProxmoxTarget, poll_proxmox

    target = ProxmoxTarget.from_token("https://pve1.example:8006",
                                      "fulcrum@pve!monitor=<secret>",
                                      ca_bundle=Path("/etc/fulcrum/pve-ca.pem"))
    state = ProxmoxPollState()           # keep one per target: counters → rates
    result = await poll_proxmox(target, state)   # collectors.result.PollResult

- Auth: an API token (``PVEAPIToken=user@realm!tokenid=secret``); give it read-only
  rights (``PVEAuditor`` on ``/``): a guest the token cannot audit is not listed, and
  discovery would mark it missing.
- TLS verification is on unless ``verify_tls=False``; ``ca_bundle`` names the PEM CA to
  trust (PVE's own ``/etc/pve/pve-root-ca.pem``), otherwise certifi's public CAs;
  ``REQUESTS_CA_BUNDLE`` and proxy variables in the environment are ignored.
- proxmoxer is synchronous: the HTTP calls run in a worker thread (``asyncio.to_thread``).
- What is read: ``reading.py``; metrics, labels and external ids: ``mapping.py``
  (source ``proxmox``, ``<cluster>/node/<node>`` and ``<cluster>/vm/<vmid>``);
  counters to rates without false spikes on restarts: ``rates.py``.
- The result marks ``hypervisor_node`` and ``vm`` as complete within the scope
  ``<cluster>/``, so ``collectors.discovery.apply_discovery`` marks a VM that
  disappeared ``missing`` (never deletes it) without touching other clusters' CIs.
- Errors: ``AuthenticationFailed`` (401/403), ``TargetUnreachable`` (connection, timeout,
  "TLS verification failed: …"), ``ProtocolError`` (other HTTP errors, bad answers).
- ``client.ProxmoxClient`` (connect / get / post / wait_task) is the reusable client the
  remediation executor drives power actions with.
- TLS and timeout defaults: ``settings.ProxmoxSettings`` (``[proxmox]``,
  ``FULCRUM_PROXMOX_…``); ``ProxmoxSettings.target(url, token_id, secret)`` applies them.
"""

from collectors.proxmox.client import ProxmoxClient, TaskResult, TaskTimedOut
from collectors.proxmox.mapping import SOURCE, guest_ref, node_ref
from collectors.proxmox.poll import poll_proxmox
from collectors.proxmox.rates import ProxmoxPollState
from collectors.proxmox.settings import ProxmoxSettings
from collectors.proxmox.target import ProxmoxTarget, parse_token

__all__ = [
    "SOURCE",
    "ProxmoxClient",
    "ProxmoxPollState",
    "ProxmoxSettings",
    "ProxmoxTarget",
    "TaskResult",
    "TaskTimedOut",
    "guest_ref",
    "node_ref",
    "parse_token",
    "poll_proxmox",
]
