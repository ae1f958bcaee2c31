"""Notifications: channels (WeCom, DingTalk, e-mail, webhook via apprise), templates, outbox."""
