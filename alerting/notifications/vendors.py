"""WeCom and DingTalk group robots as apprise plugins that can be pointed at a relay.

apprise's own ``wecombot://`` and ``dingtalk://`` plugins hard-code the vendor hosts
(``qyapi.weixin.qq.com``, ``oapi.dingtalk.com``), count any HTTP 200 as delivered
although both vendors answer a refused message with HTTP 200 and ``{"errcode": …}``,
cannot @-mention people on WeCom, and send DingTalk's signature URL-encoded twice. A
hospital intranet usually reaches the vendors only through a relay, and the tests point
the robots at a receiver on 127.0.0.1.

So these subclasses keep apprise's plugin (its validation of keys, tokens, secrets and
mobile numbers, throttling, message splitting and logging) and replace only ``send``:
the vendor's documented JSON body (``msgtype: text``, WeCom ``mentioned_mobile_list``,
DingTalk ``at.atMobiles`` and the ``timestamp``/``sign`` HMAC-SHA256 query), posted to
``endpoint`` (default: the vendor's host), with ``errcode != 0`` reported as a failure.
Warnings go to apprise's logger, where the dispatcher reads them as the attempt's error.

Alternatives weighed: apprise's ``json://`` plugin cannot produce the vendors' nested
body (its payload extras are flat strings); a plugin written from scratch with apprise's
``@notify`` decorator would have re-implemented the validation these classes already do.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Sequence
from typing import Any

import httpx
from apprise.common import NotifyFormat, NotifyType
from apprise.plugins.dingtalk import NotifyDingTalk
from apprise.plugins.wecombot import NotifyWeComBot

WECOM_HOST = "https://qyapi.weixin.qq.com"
DINGTALK_HOST = "https://oapi.dingtalk.com"


def _post(plugin: Any, url: str, payload: dict[str, Any], params: dict[str, str]) -> bool:
    """POST the vendor JSON; True only for HTTP 200 with ``errcode`` 0."""
    connect, read = plugin.request_timeout
    plugin.throttle()
    try:
        answer = httpx.post(
            url,
            params=params,
            content=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            headers={
                "User-Agent": plugin.app_id,
                "Content-Type": "application/json; charset=utf-8",
            },
            timeout=httpx.Timeout(read, connect=connect),
            follow_redirects=False,
            verify=bool(plugin.verify_certificate),
        )
    except httpx.HTTPError as exc:
        plugin.logger.warning(
            "%s unreachable: %s: %s", plugin.service_name, type(exc).__name__, exc
        )
        return False
    if answer.status_code != httpx.codes.OK:
        plugin.logger.warning(
            "%s answered HTTP %d %s",
            plugin.service_name,
            answer.status_code,
            answer.reason_phrase,
        )
        return False
    try:
        body = answer.json()
    except ValueError:
        plugin.logger.warning("%s answered HTTP 200 without JSON", plugin.service_name)
        return False
    code = body.get("errcode", 0) if isinstance(body, dict) else None
    if code != 0:
        message = body.get("errmsg", "") if isinstance(body, dict) else ""
        plugin.logger.warning(
            "%s refused the message: errcode=%s errmsg=%s", plugin.service_name, code, message
        )
        return False
    plugin.logger.info("Sent %s notification.", plugin.service_name)
    return True


class WeComRobot(NotifyWeComBot):  # type: ignore[no-untyped-call]  # apprise is untyped
    """A WeCom (企业微信) group robot; ``mobiles`` are @-mentioned."""

    def __init__(
        self,
        key: str,
        *,
        endpoint: str | None = None,
        mobiles: Sequence[str] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(key=key, **kwargs)  # type: ignore[no-untyped-call]
        self.endpoint = (endpoint or WECOM_HOST).rstrip("/")
        self.mobiles = list(mobiles)

    def send(
        self, body: str, title: str = "", notify_type: NotifyType = NotifyType.INFO, **kwargs: Any
    ) -> bool:
        text: dict[str, Any] = {"content": body}
        if self.mobiles:
            text["mentioned_mobile_list"] = self.mobiles
        return _post(
            self,
            f"{self.endpoint}/cgi-bin/webhook/send",
            {"msgtype": "text", "text": text},
            {"key": self.key},
        )


def dingtalk_signature(secret: str, timestamp_ms: str) -> str:
    """DingTalk's ``sign``: base64(HMAC-SHA256(secret, "{timestamp}\\n{secret}"))."""
    digest = hmac.new(
        secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode("ascii")


class DingTalkRobot(NotifyDingTalk):  # type: ignore[no-untyped-call]  # apprise is untyped
    """A DingTalk (钉钉) custom robot; ``targets`` are mobiles to @-mention."""

    def __init__(
        self,
        token: str,
        *,
        secret: str | None = None,
        targets: Sequence[str] = (),
        endpoint: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(  # type: ignore[no-untyped-call]
            token=token, secret=secret, targets=list(targets), **kwargs
        )
        self.endpoint = (endpoint or DINGTALK_HOST).rstrip("/")

    def send(
        self,
        body: str,
        title: str = "",
        notify_type: NotifyType = NotifyType.INFO,
        body_format: NotifyFormat | None = None,
        **kwargs: Any,
    ) -> bool:
        mobiles = list(self.targets)
        # DingTalk highlights a mention only when "@mobile" also appears in the text.
        content = body + ("\n" + " ".join(f"@{m}" for m in mobiles) if mobiles else "")
        params = {"access_token": self.token}
        if self.secret:
            timestamp = str(round(time.time() * 1000))
            params |= {"timestamp": timestamp, "sign": dingtalk_signature(self.secret, timestamp)}
        payload = {
            "msgtype": "text",
            "text": {"content": content},
            "at": {"atMobiles": mobiles, "isAtAll": False},
        }
        return _post(self, f"{self.endpoint}/robot/send", payload, params)
