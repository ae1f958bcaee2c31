"""Plain factories for notification tests: channels of each kind, settings, incidents."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy.orm import Session

from alerting.notifications import channels
from alerting.notifications.models import NotificationChannel
from alerting.notifications.schemas import ChannelCreate
from alerting.notifications.settings import NotificationSettings
from itsm_core.actor import SYSTEM
from itsm_core.settings import Settings

# Shaped like the real thing: a WeCom key is a UUID, a DingTalk token 64 hex digits, a
# signing secret "SEC" + 64 hex digits.
WECOM_KEY = "693a91f6-7a1e-4bc4-97a0-0ec2b1fa5aaa"
DINGTALK_TOKEN = "9f3c1b2a" * 8
DINGTALK_SECRET = "SEC" + "0a1b2c3d" * 8
SMTP_PASSWORD = "s3cret-Mail-Pa55"
WEBHOOK_TOKEN = "tok-5b7e1c9d2f"

_CREATE: TypeAdapter[Any] = TypeAdapter(ChannelCreate)


def settings_with(settings: Settings, **notifications: Any) -> Settings:
    """The test database's settings plus ``[notifications]`` overrides."""
    return Settings(
        {
            "database": {"url": settings.database.url.get_secret_value()},
            "notifications": notifications,
        }
    )


def channel(
    session: Session,
    kind: str,
    secret: dict[str, Any],
    *,
    config: dict[str, Any] | None = None,
    **common: Any,
) -> NotificationChannel:
    common.setdefault("name", f"{kind}-{uuid.uuid4().hex[:6]}")
    data = _CREATE.validate_python(
        {"kind": kind, "config": config or {}, "secret": secret, **common}
    )
    return channels.create_channel(session, SYSTEM, data, NotificationSettings())


def wecom(session: Session, endpoint: str, **common: Any) -> NotificationChannel:
    return channel(session, "wecom", {"key": WECOM_KEY}, config={"endpoint": endpoint}, **common)


def dingtalk(
    session: Session, endpoint: str, *, signed: bool = True, **common: Any
) -> NotificationChannel:
    secret = {"access_token": DINGTALK_TOKEN}
    if signed:
        secret["sign_secret"] = DINGTALK_SECRET
    return channel(session, "dingtalk", secret, config={"endpoint": endpoint}, **common)


def email(
    session: Session, host: str, port: int, to: list[str], *, login: bool = True, **common: Any
) -> NotificationChannel:
    secret = {"username": "fulcrum-alerts", "password": SMTP_PASSWORD} if login else {}
    config = {
        "smtp_host": host,
        "smtp_port": port,
        "security": "none",
        "from_addr": "fulcrum@hospital.example",
        "to": to,
    }
    return channel(session, "email", secret, config=config, **common)


def webhook(session: Session, url: str, **common: Any) -> NotificationChannel:
    return channel(session, "webhook", {"url": url}, **common)
