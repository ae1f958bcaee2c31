"""Validated shapes of channels (per kind: public ``config``, write-only ``secret``) and
of the delivery log.

Secrets are ``SecretStr`` from the moment they are parsed, so a repr, a log line or a
validation error never shows them; outputs list only which secret fields are set.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from alerting.notifications.choices import (
    ChannelKind,
    DeliveryStatus,
    Language,
    NotificationEvent,
    SmtpSecurity,
)
from alerting.notifications.models import DeliveryAttempt, NotificationChannel, NotificationDelivery
from itsm_core.fields import DbId
from itsm_core.incidents.choices import Priority
from itsm_core.incidents.models import format_number

_ROBOT_KEY = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_ROBOT_TOKEN = re.compile(r"^[A-Za-z0-9]{1,256}$")
_HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$|^\[[0-9A-Fa-f:.]+\]$")


def _http_url(value: str, *, allow_query: bool) -> str:
    """An absolute http(s) URL with a host; the message never repeats the value."""
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise ValueError("not a valid http(s) URL") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    if port == 0 or parts.fragment or any(c.isspace() or c == "\x00" for c in value):
        raise ValueError("not a valid http(s) URL")
    if not allow_query and (parts.query or parts.username or parts.password):
        raise ValueError("a base URL without query or credentials")
    return value


def _endpoint(value: str) -> str:
    return _http_url(value, allow_query=False).rstrip("/")


Endpoint = Annotated[str, Field(max_length=500), AfterValidator(_endpoint)]
Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00]+$")]
Description = Annotated[str, Field(max_length=500, pattern=r"^[^\x00]*$")]


def _secret_matching(value: SecretStr | None, pattern: re.Pattern[str], what: str) -> None:
    if value is not None and not pattern.fullmatch(value.get_secret_value()):
        raise ValueError(f"not a valid {what}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- per-kind configuration and secrets ---------------------------------------------------
class RobotConfig(_Strict):
    """WeCom / DingTalk group robot: where its API is, and whether to @ the people told."""

    endpoint: Endpoint | None = Field(
        default=None,
        description="Base URL of the robot API; default the vendor's "
        "(https://qyapi.weixin.qq.com, https://oapi.dingtalk.com). Set it for an intranet relay.",
    )
    mention_recipients: bool = Field(
        default=True, description="@ the people an escalation is addressed to (by mobile)."
    )


class WeComSecret(_Strict):
    """The ``key=`` of the robot's webhook URL."""

    key: SecretStr = Field(max_length=128)

    @field_validator("key")
    @classmethod
    def _valid(cls, value: SecretStr) -> SecretStr:
        _secret_matching(value, _ROBOT_KEY, "WeCom robot key (letters, digits, - and _)")
        return value


class DingTalkSecret(_Strict):
    """The robot's ``access_token`` and, if the robot signs ("加签"), its ``SEC…`` secret."""

    access_token: SecretStr = Field(max_length=256)
    sign_secret: SecretStr | None = Field(default=None, max_length=256)

    @field_validator("access_token", "sign_secret")
    @classmethod
    def _valid(cls, value: SecretStr | None) -> SecretStr | None:
        _secret_matching(value, _ROBOT_TOKEN, "DingTalk token (letters and digits)")
        return value


class EmailConfig(_Strict):
    """SMTP delivery; empty server fields fall back to ``[notifications] smtp_*``."""

    smtp_host: str | None = Field(default=None, max_length=253, pattern=_HOSTNAME.pattern)
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    security: SmtpSecurity | None = None
    from_addr: EmailStr | None = None
    to: list[EmailStr] = Field(default_factory=list, max_length=50)
    notify_recipients: bool = Field(
        default=True, description="Also mail the people (and group address) an escalation names."
    )

    @model_validator(mode="after")
    def _someone(self) -> EmailConfig:
        if not self.to and not self.notify_recipients:
            raise ValueError("give `to` addresses or set notify_recipients")
        return self


class EmailSecret(_Strict):
    """SMTP login; empty falls back to ``[notifications] smtp_username/smtp_password``."""

    username: str | None = Field(default=None, max_length=254, pattern=r"^[^\x00\s]+$")
    password: SecretStr | None = Field(default=None, max_length=256)

    @field_validator("password")
    @classmethod
    def _no_nul(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and "\x00" in value.get_secret_value():
            raise ValueError("may not contain NUL characters")
        return value


class WebhookConfig(_Strict):
    """A generic webhook gets apprise's JSON body (title, message, type) plus incident fields."""


class WebhookSecret(_Strict):
    """The URL to POST to (it often carries a token, so it is a secret)."""

    url: SecretStr = Field(max_length=2000)

    @field_validator("url")
    @classmethod
    def _valid(cls, value: SecretStr) -> SecretStr:
        _http_url(value.get_secret_value(), allow_query=True)
        return value


CONFIG_MODELS: dict[ChannelKind, type[BaseModel]] = {
    ChannelKind.WECOM: RobotConfig,
    ChannelKind.DINGTALK: RobotConfig,
    ChannelKind.EMAIL: EmailConfig,
    ChannelKind.WEBHOOK: WebhookConfig,
}
SECRET_MODELS: dict[ChannelKind, type[BaseModel]] = {
    ChannelKind.WECOM: WeComSecret,
    ChannelKind.DINGTALK: DingTalkSecret,
    ChannelKind.EMAIL: EmailSecret,
    ChannelKind.WEBHOOK: WebhookSecret,
}


def plain(model: BaseModel) -> dict[str, Any]:
    """The model as JSON-ready data with secrets revealed (for storage only)."""
    out: dict[str, Any] = {}
    for key, value in model.model_dump(mode="python").items():
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, list):
            value = [str(v) for v in value]
        elif value is not None and not isinstance(value, bool | int | float | str):
            value = str(value)
        out[key] = value
    return out


# -- channels ------------------------------------------------------------------------------
class _ChannelCommon(_Strict):
    name: Name
    description: Description = ""
    enabled: bool = True
    language: Language | None = Field(
        default=None, description="zh or en; default [notifications] default_language."
    )
    group_ids: list[DbId] = Field(
        default_factory=list, max_length=100, description="Only these groups' incidents; [] all."
    )
    events: list[NotificationEvent] = Field(
        default_factory=list, max_length=10, description="Only these events; [] all."
    )
    priorities: list[Priority] = Field(
        default_factory=list, max_length=5, description="Only these priorities; [] all."
    )


class WeComChannelCreate(_ChannelCommon):
    kind: Literal[ChannelKind.WECOM]
    config: RobotConfig = Field(default_factory=RobotConfig)
    secret: WeComSecret


class DingTalkChannelCreate(_ChannelCommon):
    kind: Literal[ChannelKind.DINGTALK]
    config: RobotConfig = Field(default_factory=RobotConfig)
    secret: DingTalkSecret


class EmailChannelCreate(_ChannelCommon):
    kind: Literal[ChannelKind.EMAIL]
    config: EmailConfig = Field(default_factory=EmailConfig)
    secret: EmailSecret = Field(default_factory=EmailSecret)


class WebhookChannelCreate(_ChannelCommon):
    kind: Literal[ChannelKind.WEBHOOK]
    config: WebhookConfig = Field(default_factory=WebhookConfig)
    secret: WebhookSecret


ChannelCreate = Annotated[
    WeComChannelCreate | DingTalkChannelCreate | EmailChannelCreate | WebhookChannelCreate,
    Field(discriminator="kind"),
]


class ChannelPatch(_Strict):
    """Only the fields sent change; ``config`` and ``secret`` are replaced whole and
    validated against the channel's kind."""

    name: Name | None = None
    description: Description | None = None
    enabled: bool | None = None
    language: Language | None = None
    group_ids: list[DbId] | None = Field(default=None, max_length=100)
    events: list[NotificationEvent] | None = Field(default=None, max_length=10)
    priorities: list[Priority] | None = Field(default=None, max_length=5)
    config: dict[str, Any] | None = Field(default=None, max_length=20)
    secret: dict[str, SecretStr | None] | None = Field(default=None, max_length=10)


class ChannelOut(BaseModel):
    """A channel as the API shows it: everything but the secret values."""

    id: int
    name: str
    description: str
    kind: ChannelKind
    enabled: bool
    language: Language
    group_ids: list[int]
    events: list[NotificationEvent]
    priorities: list[Priority]
    config: dict[str, Any]
    secret_fields: list[str] = Field(description="Names of the secret fields that are set.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, channel: NotificationChannel) -> ChannelOut:
        return cls(
            id=channel.id,
            name=channel.name,
            description=channel.description,
            kind=channel.kind,
            enabled=channel.enabled,
            language=channel.language,
            group_ids=list(channel.group_ids),
            events=[NotificationEvent(e) for e in channel.events],
            priorities=[Priority(p) for p in channel.priorities],
            config=dict(channel.config),
            secret_fields=sorted(k for k, v in channel.secret.items() if v),
            created_at=channel.created_at,
            updated_at=channel.updated_at,
        )


# -- delivery log --------------------------------------------------------------------------
class DeliveryQuery(_Strict):
    status: DeliveryStatus | None = None
    channel_id: DbId | None = None
    incident_id: DbId | None = None
    event: NotificationEvent | None = None
    cursor: str | None = Field(default=None, max_length=200, description="From `next_cursor`.")
    limit: int = Field(default=50, ge=1, le=200, description="Rows per page.")


class AttemptOut(BaseModel):
    number: int
    at: datetime
    ok: bool
    error: str | None
    duration_ms: int

    @classmethod
    def of(cls, attempt: DeliveryAttempt) -> AttemptOut:
        return cls(
            number=attempt.number,
            at=attempt.at,
            ok=attempt.ok,
            error=attempt.error,
            duration_ms=attempt.duration_ms,
        )


class DeliveryOut(BaseModel):
    """One message to one channel: its state, attempts and last error."""

    id: int
    channel_id: int | None
    channel_name: str
    incident_id: int | None
    incident_number: str | None
    event: NotificationEvent
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    recipients: list[str] = Field(description="Names of the people addressed.")
    queued_at: datetime = Field(description="When it was queued (again, after a retry).")
    sent_at: datetime | None
    attempt_log: list[AttemptOut] | None = Field(
        default=None, description="Every attempt (only on the single-delivery view)."
    )

    @classmethod
    def of(
        cls, delivery: NotificationDelivery, attempts: list[DeliveryAttempt] | None = None
    ) -> DeliveryOut:
        people = delivery.recipients.get("people", [])
        return cls(
            id=delivery.id,
            channel_id=delivery.channel_id,
            channel_name=delivery.channel_name,
            incident_id=delivery.incident_id,
            incident_number=(
                format_number(delivery.incident_id) if delivery.incident_id is not None else None
            ),
            event=delivery.event,
            status=delivery.status,
            attempts=delivery.attempts,
            next_attempt_at=(
                delivery.next_attempt_at if delivery.status == DeliveryStatus.PENDING else None
            ),
            last_error=delivery.last_error,
            recipients=[str(p.get("name", "")) for p in people],
            queued_at=delivery.queued_at,
            sent_at=delivery.sent_at,
            attempt_log=[AttemptOut.of(a) for a in attempts] if attempts is not None else None,
        )
