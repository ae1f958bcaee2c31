"""Alert intake: the Alertmanager v4 webhook and the generic JSON endpoint.

Authentication is what Alertmanager's ``http_config`` can send: ``Authorization: Bearer
<token>`` (``authorization.credentials``) or HTTP basic auth whose password is the token
(``basic_auth``; the user name is not checked). The token's role needs
``alert:ingest`` — ``alert_source`` has only that. A 2xx means the alerts are committed;
a database outage answers 503 so Alertmanager retries (it never retries a 4xx). The same
delivery twice creates nothing the second time (``duplicate_delivery: true``).

A sender posts many times a second with the same token, so a successful authentication
is remembered for ``AUTH_TTL_SECONDS`` (per app, keyed by the token's hash): a revoked or
expired token stops working for the webhooks at most that long after.
"""

from __future__ import annotations

import hashlib
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import (
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
)
from sqlalchemy.orm import Session, sessionmaker

from alerting import intake
from alerting.adapters.alertmanager import AlertmanagerPayload
from alerting.adapters.generic import GenericPayload
from alerting.canonical import AlertSourceKind
from alerting.schemas import IngestOut
from api.deps import SessionDep, SettingsDep
from api.errors import ErrorBody
from itsm_core.actor import Actor
from itsm_core.errors import Forbidden, Unauthorized
from itsm_core.people import service as people
from itsm_core.people.roles import Permission
from itsm_core.timeutil import utcnow

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])

_bearer = HTTPBearer(auto_error=False, description="An API token of an `alert_source` user.")
_basic = HTTPBasic(
    auto_error=False, description="Any user name; the password is an API token (`alert_source`)."
)


def _current_actor(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    basic: Annotated[HTTPBasicCredentials | None, Depends(_basic)],
) -> Actor:
    """The caller, from a bearer token or basic auth carrying a token as the password."""
    if bearer is not None and bearer.scheme.lower() == "bearer":
        secret = bearer.credentials
    elif basic is not None and basic.password:
        secret = basic.password
    else:
        raise Unauthorized(
            "an `Authorization: Bearer <token>` header or HTTP basic auth with the token "
            "as password is required"
        )
    return _authenticate(request, secret)


AUTH_TTL_SECONDS = 5.0
_AUTH_CACHE_SIZE = 1024


def _authenticate(request: Request, secret: str) -> Actor:
    cache: dict[str, tuple[float, Actor]] | None = getattr(
        request.app.state, "alert_source_auth", None
    )
    if cache is None:
        cache = request.app.state.alert_source_auth = {}
    key = hashlib.sha256(secret.encode()).hexdigest()
    now = time.monotonic()
    hit = cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    factory: sessionmaker[Session] = request.app.state.session_factory
    # Its own short read so authentication never shares the request's transaction.
    with factory() as session:
        actor = people.authenticate(session, secret)
    if len(cache) >= _AUTH_CACHE_SIZE:
        cache.clear()
    cache[key] = (now + AUTH_TTL_SECONDS, actor)
    return actor


def _may_ingest(actor: Annotated[Actor, Depends(_current_actor)]) -> Actor:
    if not actor.can(Permission.ALERT_INGEST):
        raise Forbidden(
            f"role(s) {', '.join(sorted(actor.roles))} may not {Permission.ALERT_INGEST}"
        )
    return actor


# Read by the role x endpoint test and the docs generator, as on ``api.deps.require``.
_may_ingest.required_permission = Permission.ALERT_INGEST  # type: ignore[attr-defined]
Source = Annotated[Actor, Depends(_may_ingest)]

_ANSWERS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorBody, "description": "No or a wrong token."},
    403: {"model": ErrorBody, "description": "The token's role may not post alerts."},
    413: {"model": ErrorBody, "description": "Body larger than `[api] max_body_bytes`."},
    422: {"model": ErrorBody, "description": "Malformed payload; nothing was stored."},
    503: {"model": ErrorBody, "description": "Database unavailable; retry (nothing stored)."},
}


@router.post(
    "/alertmanager",
    summary="Receive an Alertmanager webhook (payload version 4)",
    responses=_ANSWERS,
)
def alertmanager(
    payload: AlertmanagerPayload, session: SessionDep, settings: SettingsDep, actor: Source
) -> IngestOut:
    result = intake.receive(
        session,
        AlertSourceKind.ALERTMANAGER,
        payload.digest(),
        payload.to_canonical(),
        received_by=actor.name,
        settings=settings,
    )
    return IngestOut.model_validate(result)


@router.post("/generic", summary="Receive alerts in the generic JSON shape", responses=_ANSWERS)
def generic(
    payload: GenericPayload, session: SessionDep, settings: SettingsDep, actor: Source
) -> IngestOut:
    now = utcnow()
    result = intake.receive(
        session,
        AlertSourceKind.GENERIC,
        payload.digest(),
        payload.to_canonical(now),
        received_by=actor.name,
        settings=settings,
        now=now,
    )
    return IngestOut.model_validate(result)
