"""Notification channels (secrets write-only), channel tests and the delivery log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from alerting.notifications import channels
from alerting.notifications.deliveries import (
    attempts_of,
    delivery_query,
    get_delivery,
    retry_delivery,
)
from alerting.notifications.models import NotificationDelivery
from alerting.notifications.schemas import (
    ChannelCreate,
    ChannelOut,
    ChannelPatch,
    DeliveryOut,
    DeliveryQuery,
)
from alerting.notifications.settings import NotificationSettings
from api.deps import SessionDep, SettingsDep, require
from api.pagination import Page, paginate
from itsm_core.actor import Actor
from itsm_core.fields import MAX_DB_ID
from itsm_core.people.roles import Permission
from itsm_core.timeutil import utcnow

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])
Reader = Annotated[Actor, Depends(require(Permission.ALERT_READ))]
Admin = Annotated[Actor, Depends(require(Permission.ALERT_ADMIN))]
Id = Annotated[int, Path(ge=1, le=MAX_DB_ID)]


@router.post("/channels", status_code=status.HTTP_201_CREATED, summary="Add a channel")
def create_channel(
    body: ChannelCreate, session: SessionDep, settings: SettingsDep, actor: Admin
) -> ChannelOut:
    config = settings.section(NotificationSettings)
    return ChannelOut.of(channels.create_channel(session, actor, body, config))


@router.get("/channels", summary="List channels (secrets are never shown)")
def list_channels(session: SessionDep, _: Reader) -> list[ChannelOut]:
    return [ChannelOut.of(c) for c in channels.list_channels(session)]


@router.get("/channels/{channel_id}", summary="One channel")
def get_channel(channel_id: Id, session: SessionDep, _: Reader) -> ChannelOut:
    return ChannelOut.of(channels.get_channel(session, channel_id))


@router.patch("/channels/{channel_id}", summary="Change a channel; `secret` replaces the secret")
def update_channel(
    channel_id: Id, body: ChannelPatch, session: SessionDep, actor: Admin
) -> ChannelOut:
    channel = channels.get_channel(session, channel_id)
    return ChannelOut.of(channels.update_channel(session, actor, channel, body))


@router.delete(
    "/channels/{channel_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a channel; its queued messages are cancelled, its log kept",
)
def delete_channel(channel_id: Id, session: SessionDep, actor: Admin) -> Response:
    channels.delete_channel(session, actor, channels.get_channel(session, channel_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/channels/{channel_id}/test",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Queue a test message to the channel; the delivery log shows the outcome",
)
def queue_test_message(channel_id: Id, session: SessionDep, actor: Admin) -> DeliveryOut:
    channel = channels.get_channel(session, channel_id)
    return DeliveryOut.of(channels.request_test(session, actor, channel, utcnow()))


@router.get("/deliveries", summary="The delivery log, newest first")
def list_deliveries(
    session: SessionDep, _: Reader, query: Annotated[DeliveryQuery, Query()]
) -> Page[DeliveryOut]:
    rows, next_cursor = paginate(
        session, delivery_query(query), NotificationDelivery.id, query.cursor, query.limit
    )
    return Page(items=[DeliveryOut.of(r) for r in rows], next_cursor=next_cursor)


@router.get("/deliveries/{delivery_id}", summary="One delivery with every attempt")
def get_delivery_route(delivery_id: Id, session: SessionDep, _: Reader) -> DeliveryOut:
    delivery = get_delivery(session, delivery_id)
    return DeliveryOut.of(delivery, attempts_of(session, delivery))


@router.post(
    "/deliveries/{delivery_id}/retry",
    summary="Queue a failed or cancelled delivery again (attempts start over)",
)
def retry(delivery_id: Id, session: SessionDep, actor: Admin) -> DeliveryOut:
    return DeliveryOut.of(retry_delivery(session, actor, delivery_id, utcnow()))
