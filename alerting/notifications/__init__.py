"""Notifications: channels (WeCom, DingTalk, e-mail, webhook via apprise), templates, outbox.

``outbox.notify_incident`` queues (no I/O); ``dispatcher.dispatch_notifications`` sends
with retries and logs every attempt; ``channels`` manages the channels.
"""
