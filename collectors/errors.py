"""Why a poll failed, translated at the adapter edge from pysnmp, proxmoxer or httpx.

    CollectorError
     ├── TargetUnreachable     no answer (timeout, refused, DNS)
     ├── AuthenticationFailed  wrong community / v3 credentials / token
     └── ProtocolError         an answer we cannot use (error status, bad payload)

The scheduler turns N consecutive failures of one kind into a canonical alert.
"""

from __future__ import annotations


class CollectorError(Exception):
    """A poll of one target failed; ``reason`` is the alert-friendly category."""

    reason = "collector_error"

    def __init__(self, target: str, detail: str) -> None:
        super().__init__(f"{target}: {detail}")
        self.target = target
        self.detail = detail


class TargetUnreachable(CollectorError):
    reason = "unreachable"


class AuthenticationFailed(CollectorError):
    reason = "authentication_failed"


class ProtocolError(CollectorError):
    reason = "protocol_error"
