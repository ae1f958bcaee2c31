"""Enumerations of notifications: channel kinds, languages, events and delivery states."""

from __future__ import annotations

from enum import StrEnum


class ChannelKind(StrEnum):
    """How a channel is reached (each is an apprise plugin, see ``senders``)."""

    WECOM = "wecom"  # WeCom (企业微信) group robot webhook
    DINGTALK = "dingtalk"  # DingTalk (钉钉) custom robot webhook
    EMAIL = "email"  # SMTP
    WEBHOOK = "webhook"  # apprise's generic JSON POST


class Language(StrEnum):
    """The language a channel's messages are written in."""

    ZH = "zh"
    EN = "en"


class NotificationEvent(StrEnum):
    """What happened to an incident (``TEST``: an administrator's channel test)."""

    OPENED = "opened"
    ESCALATED = "escalated"
    ALERTS_RESOLVED = "alerts_resolved"
    RESOLVED = "resolved"
    DEADMAN = "deadman"
    TEST = "test"


class DeliveryStatus(StrEnum):
    """Where one message to one channel is.

    ``pending`` waits for its (next) attempt, ``sending`` is claimed by a dispatcher,
    ``sent`` and ``failed`` (attempts exhausted or expired) are final, ``cancelled`` means
    its channel was deleted or disabled before it went out.
    """

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINAL_STATUSES = frozenset({DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.CANCELLED})


class SmtpSecurity(StrEnum):
    """How the SMTP connection is protected: none, STARTTLS (587) or implicit TLS (465)."""

    NONE = "none"
    STARTTLS = "starttls"
    SSL = "ssl"
