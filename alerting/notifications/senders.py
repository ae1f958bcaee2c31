"""Send one delivery through apprise: build the channel's plugin, render, notify.

One plugin per kind — WeCom and DingTalk group robots (``vendors``), e-mail (apprise's
``mailto://``/``mailtos://`` with an explicit SMTP host and port) and a generic JSON
webhook (apprise's ``json://``/``jsons://``). Nothing here touches the database: the
dispatcher hands over an :class:`Outgoing` and gets a :class:`SendResult` back, so sends
run outside any transaction and may run in threads.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from apprise import AppriseAsset
from apprise.common import NotifyFormat, NotifyType
from apprise.plugins.custom_json import NotifyJSON

from alerting.notifications.choices import ChannelKind, Language, NotificationEvent, SmtpSecurity
from alerting.notifications.redaction import REDACTOR, scrub, url_fragments
from alerting.notifications.settings import NotificationSettings
from alerting.notifications.templates import Message, render
from alerting.notifications.vendors import DingTalkRobot, WeComRobot

with warnings.catch_warnings():
    # apprise's mail plugin imports its PGP helper, which imports the standard library's
    # imghdr; Python 3.11 deprecates imghdr (3.13 removes it, and apprise shims it there).
    warnings.filterwarnings("ignore", "'imghdr' is deprecated", DeprecationWarning)
    from apprise.plugins.email import NotifyEmail

ERROR_LENGTH = 1000
ASSET = AppriseAsset(app_id="Fulcrum", app_desc="Fulcrum notifications", app_url="")

_NOTIFY_TYPES = {
    NotificationEvent.OPENED: NotifyType.WARNING,
    NotificationEvent.ESCALATED: NotifyType.FAILURE,
    NotificationEvent.ALERTS_RESOLVED: NotifyType.SUCCESS,
    NotificationEvent.RESOLVED: NotifyType.SUCCESS,
    NotificationEvent.DEADMAN: NotifyType.FAILURE,
    NotificationEvent.TEST: NotifyType.INFO,
}


@dataclass(frozen=True, slots=True)
class Outgoing:
    """Everything one send needs, copied out of the session."""

    delivery_id: int
    attempts: int
    channel_id: int
    channel_name: str
    kind: ChannelKind
    language: Language
    config: dict[str, Any]
    secret: dict[str, Any] = field(repr=False)
    event: NotificationEvent = NotificationEvent.TEST
    context: dict[str, Any] = field(default_factory=dict)
    recipients: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SendResult:
    """How one attempt went; ``error`` is already scrubbed of secrets."""

    ok: bool
    error: str | None = None
    duration_ms: int = 0


class ChannelMisconfigured(ValueError):
    """The channel's stored settings cannot make a plugin (shown as the attempt's error)."""


class _Warnings(logging.Handler):
    """Collects apprise's warnings emitted by this thread (the reason a send failed)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.messages.append(record.getMessage())


@contextmanager
def _apprise_warnings() -> Iterator[_Warnings]:
    handler = _Warnings()
    logger = logging.getLogger("apprise")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def _people(outgoing: Outgoing) -> list[dict[str, Any]]:
    people = outgoing.recipients.get("people", [])
    return [p for p in people if isinstance(p, dict)]


def secret_values(outgoing: Outgoing, settings: NotificationSettings) -> list[str]:
    """Every string of this channel that must never reach a log or an error."""
    values: list[str] = []
    for key, value in outgoing.secret.items():
        if not isinstance(value, str) or not value:
            continue
        values += url_fragments(value) if key == "url" else [value]
    if outgoing.kind == ChannelKind.EMAIL and settings.smtp_password is not None:
        values.append(settings.smtp_password.get_secret_value())
    return values


def _timeouts(settings: NotificationSettings) -> dict[str, Any]:
    return {"cto": settings.send_timeout_seconds, "rto": settings.send_timeout_seconds}


def _mail_plugin(outgoing: Outgoing, settings: NotificationSettings) -> Any:
    config, secret = outgoing.config, outgoing.secret
    host = config.get("smtp_host") or settings.smtp_host
    port = config.get("smtp_port") or settings.smtp_port
    security = SmtpSecurity(config.get("security") or settings.smtp_security)
    sender = config.get("from_addr") or settings.smtp_from
    username = secret.get("username") or settings.smtp_username
    password = secret.get("password") or (
        settings.smtp_password.get_secret_value() if settings.smtp_password else None
    )
    to = list(config.get("to") or [])
    if config.get("notify_recipients", True):
        to += [p["email"] for p in _people(outgoing) if p.get("email")]
        to += [e for e in outgoing.recipients.get("group_emails", []) if isinstance(e, str)]
    to = list(dict.fromkeys(to))
    if not to:
        raise ChannelMisconfigured("no recipient address")
    auth = ""
    if username:
        auth = quote(username, safe="") + (f":{quote(password, safe='')}" if password else "") + "@"
    scheme, mode = {
        SmtpSecurity.NONE: ("mailto", "insecure"),
        SmtpSecurity.STARTTLS: ("mailtos", "starttls"),
        SmtpSecurity.SSL: ("mailtos", "ssl"),
    }[security]
    query = "&".join(
        f"{k}={quote(str(v), safe='')}"
        for k, v in {
            "smtp": host,
            "from": sender,
            "to": ",".join(to),
            "mode": mode,
            "format": "text",
            "cto": settings.send_timeout_seconds,
            "rto": settings.send_timeout_seconds,
        }.items()
    )
    parsed = NotifyEmail.parse_url(f"{scheme}://{auth}{host}:{port}?{query}")  # type: ignore[no-untyped-call]
    if not parsed:
        raise ChannelMisconfigured("apprise refused the SMTP settings")
    return NotifyEmail(**parsed, asset=ASSET)  # type: ignore[no-untyped-call]


def _webhook_plugin(outgoing: Outgoing, settings: NotificationSettings) -> NotifyJSON:
    parts = urlsplit(str(outgoing.secret.get("url", "")))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ChannelMisconfigured("the webhook URL is not an http(s) URL")
    context = outgoing.context
    extras = {
        "event": outgoing.event.value,
        "incident": str(context.get("number") or ""),
        "priority": str(context.get("priority") or ""),
        "language": outgoing.language.value,
    }
    return NotifyJSON(  # type: ignore[no-untyped-call]
        host=parts.hostname,
        port=parts.port,
        user=quote(parts.username, safe="") if parts.username else None,
        password=quote(parts.password, safe="") if parts.password else None,
        secure=parts.scheme == "https",
        fullpath=parts.path or "/",
        params=dict(parse_qsl(parts.query)),
        payload={k: v for k, v in extras.items() if v},
        asset=ASSET,
        **_timeouts(settings),
    )


def build_plugin(outgoing: Outgoing, settings: NotificationSettings) -> Any:
    """The apprise plugin instance that delivers to ``outgoing``'s channel."""
    config, secret = outgoing.config, outgoing.secret
    mention = bool(config.get("mention_recipients", True))
    mobiles = [str(p["mobile"]) for p in _people(outgoing) if p.get("mobile")] if mention else []
    if outgoing.kind == ChannelKind.WECOM:
        return WeComRobot(
            secret.get("key", ""),
            endpoint=config.get("endpoint"),
            mobiles=mobiles,
            asset=ASSET,
            **_timeouts(settings),
        )
    if outgoing.kind == ChannelKind.DINGTALK:
        return DingTalkRobot(
            secret.get("access_token", ""),
            secret=secret.get("sign_secret") or None,
            targets=mobiles,
            endpoint=config.get("endpoint"),
            asset=ASSET,
            **_timeouts(settings),
        )
    if outgoing.kind == ChannelKind.EMAIL:
        return _mail_plugin(outgoing, settings)
    return _webhook_plugin(outgoing, settings)


def message_for(outgoing: Outgoing, settings: NotificationSettings) -> Message:
    names = [str(p.get("name")) for p in _people(outgoing) if p.get("name")]
    return render(outgoing.language, outgoing.event, outgoing.context, names, settings.timezone)


def send(outgoing: Outgoing, settings: NotificationSettings) -> SendResult:
    """One attempt: never raises; any failure becomes ``SendResult(ok=False, error=…)``."""
    secrets = secret_values(outgoing, settings)
    started = time.monotonic()
    with REDACTOR.active(secrets):
        try:
            message = message_for(outgoing, settings)
            plugin = build_plugin(outgoing, settings)
            chat = outgoing.kind in (ChannelKind.WECOM, ChannelKind.DINGTALK)
            with _apprise_warnings() as warnings:
                ok = bool(
                    plugin.notify(
                        body=message.body,
                        # Robots show no title: the body's first line is the heading.
                        title="" if chat else message.title,
                        notify_type=_NOTIFY_TYPES[outgoing.event],
                        body_format=NotifyFormat.TEXT,
                    )
                )
            error = None if ok else ("; ".join(warnings.messages[-3:]) or "the channel refused")
        except Exception as exc:  # a broken channel is a failed attempt, never a crash
            ok, error = False, f"{type(exc).__name__}: {exc}"
        if error is not None:
            error = scrub(error, secrets)[:ERROR_LENGTH]
    return SendResult(ok=ok, error=error, duration_ms=int((time.monotonic() - started) * 1000))
