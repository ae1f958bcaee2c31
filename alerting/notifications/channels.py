"""Managing notification channels; every change is audited without its secret values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from alerting.notifications.choices import ChannelKind, DeliveryStatus
from alerting.notifications.models import NotificationChannel, NotificationDelivery
from alerting.notifications.outbox import queue_test
from alerting.notifications.schemas import (
    CONFIG_MODELS,
    SECRET_MODELS,
    ChannelCreate,
    ChannelPatch,
    plain,
)
from alerting.notifications.settings import NotificationSettings
from itsm_core import audit
from itsm_core.actor import Actor
from itsm_core.errors import Conflict, NotFound, ValidationFailed
from itsm_core.incidents.service import group_ref


def get_channel(session: Session, channel_id: int) -> NotificationChannel:
    channel = session.get(NotificationChannel, channel_id)
    if channel is None:
        raise NotFound(
            f"notification channel {channel_id} does not exist", errors={"id": ["no such channel"]}
        )
    return channel


def find_channel(session: Session, ref: str) -> NotificationChannel | None:
    """A channel by id (digits) or by name (for the CLI)."""
    if ref.isdigit():
        return session.get(NotificationChannel, int(ref))
    return session.scalar(select(NotificationChannel).where(NotificationChannel.name == ref))


def list_channels(session: Session) -> list[NotificationChannel]:
    return list(session.scalars(select(NotificationChannel).order_by(NotificationChannel.id)))


def _view(channel: NotificationChannel) -> dict[str, Any]:
    """What the audit log keeps: the settings and which secrets are set, never their values."""
    return {
        "name": channel.name,
        "kind": channel.kind.value,
        "enabled": channel.enabled,
        "language": channel.language.value,
        "group_ids": list(channel.group_ids),
        "events": list(channel.events),
        "priorities": list(channel.priorities),
        "config": dict(channel.config),
        "secret_fields": sorted(k for k, v in channel.secret.items() if v),
    }


def _check_name(session: Session, name: str, channel_id: int | None = None) -> None:
    other = session.scalar(select(NotificationChannel.id).where(NotificationChannel.name == name))
    if other is not None and other != channel_id:
        raise Conflict(f"channel {name!r} already exists", errors={"name": ["taken"]})


def _check_groups(session: Session, group_ids: list[int]) -> list[int]:
    wanted = list(dict.fromkeys(group_ids))
    for group_id in wanted:
        group_ref(session, group_id, "group_ids")
    return wanted


def _validated(kind: ChannelKind, field: str, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` checked against the kind's model; errors name the field, never the value."""
    model: type[BaseModel] = (CONFIG_MODELS if field == "config" else SECRET_MODELS)[kind]
    try:
        return plain(model.model_validate(data))
    except ValidationError as exc:
        errors: dict[str, list[str]] = {}
        for err in exc.errors(include_input=False):
            key = ".".join([field, *(str(p) for p in err["loc"])])
            errors.setdefault(key, []).append(err["msg"])
        detail = "; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items())
        raise ValidationFailed(detail, errors=errors) from None


def create_channel(
    session: Session, actor: Actor, data: ChannelCreate, settings: NotificationSettings
) -> NotificationChannel:
    """A new channel (its secret stored, never shown again)."""
    _check_name(session, data.name)
    channel = NotificationChannel(
        name=data.name,
        description=data.description,
        kind=data.kind,
        enabled=data.enabled,
        language=data.language or settings.default_language,
        group_ids=_check_groups(session, data.group_ids),
        events=[e.value for e in dict.fromkeys(data.events)],
        priorities=[p.value for p in dict.fromkeys(data.priorities)],
        config=plain(data.config),
        secret=plain(data.secret),
    )
    session.add(channel)
    session.flush()
    audit.record(
        session, actor, "notification_channel.create", "notification_channel", channel.id,
        after=_view(channel),
    )  # fmt: skip
    return channel


def update_channel(
    session: Session, actor: Actor, channel: NotificationChannel, patch: ChannelPatch
) -> NotificationChannel:
    """Apply the fields ``patch`` sets; ``config``/``secret`` are replaced whole."""
    before = _view(channel)
    sent = patch.model_fields_set
    for field in ("name", "description", "enabled", "language"):
        if field in sent and getattr(patch, field) is None:
            raise ValidationFailed.on(field, "may not be null")
    if patch.name is not None:
        _check_name(session, patch.name, channel.id)
        channel.name = patch.name
    if patch.description is not None:
        channel.description = patch.description
    if patch.enabled is not None:
        channel.enabled = patch.enabled
    if patch.language is not None:
        channel.language = patch.language
    if patch.group_ids is not None:
        channel.group_ids = _check_groups(session, patch.group_ids)
    if patch.events is not None:
        channel.events = [e.value for e in dict.fromkeys(patch.events)]
    if patch.priorities is not None:
        channel.priorities = [p.value for p in dict.fromkeys(patch.priorities)]
    if patch.config is not None:
        channel.config = _validated(channel.kind, "config", patch.config)
    if patch.secret is not None:
        revealed = {
            k: v.get_secret_value() if v is not None else None for k, v in patch.secret.items()
        }
        channel.secret = _validated(channel.kind, "secret", revealed)
    session.flush()
    audit.record(
        session, actor, "notification_channel.update", "notification_channel", channel.id,
        before=before, after=_view(channel),
    )  # fmt: skip
    return channel


def delete_channel(session: Session, actor: Actor, channel: NotificationChannel) -> None:
    """Remove the channel; its queued messages are cancelled, its delivery log kept."""
    session.execute(
        update(NotificationDelivery)
        .where(
            NotificationDelivery.channel_id == channel.id,
            NotificationDelivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]),
        )
        .values(status=DeliveryStatus.CANCELLED, lease_until=None, last_error="channel deleted")
        .execution_options(synchronize_session=False)
    )
    before = _view(channel)
    channel_id = channel.id
    session.delete(channel)
    session.flush()
    audit.record(
        session, actor, "notification_channel.delete", "notification_channel", channel_id,
        before=before,
    )  # fmt: skip


def request_test(
    session: Session, actor: Actor, channel: NotificationChannel, now: datetime
) -> NotificationDelivery:
    """Queue a test message; the dispatcher sends it and the delivery log shows how it went."""
    return queue_test(session, channel, now, actor)
