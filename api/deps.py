"""FastAPI dependencies shared by every route: the unit of work and the caller."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from itsm_core.actor import Actor
from itsm_core.errors import Forbidden, Unauthorized
from itsm_core.people import service as people
from itsm_core.people.roles import Permission
from itsm_core.settings import Settings


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _session(request: Request) -> Iterator[Session]:
    # One transaction per request, committed when the handler returns and before the
    # response is sent ("function" scope), so a 2xx always means "durably stored".
    factory: sessionmaker[Session] = request.app.state.session_factory
    with factory() as session, session.begin():
        yield session


SessionDep = Annotated[Session, Depends(_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]

_bearer = HTTPBearer(auto_error=False, description="An API token from `fulcrum token create`.")


def _current_actor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("an `Authorization: Bearer <token>` header is required")
    factory: sessionmaker[Session] = request.app.state.session_factory
    # Its own short read so authentication never shares the request's transaction.
    with factory() as session:
        return people.authenticate(session, credentials.credentials)


CurrentActor = Annotated[Actor, Depends(_current_actor)]


def require(permission: Permission) -> Callable[[Actor], Actor]:
    """A dependency that lets the request through only if the caller holds ``permission``."""

    def check(actor: CurrentActor) -> Actor:
        if not actor.can(permission):
            raise Forbidden(f"role(s) {', '.join(sorted(actor.roles))} may not {permission}")
        return actor

    check.__name__ = f"require_{permission.replace(':', '_')}"
    # Read by the role x endpoint test and the docs generator.
    check.required_permission = permission  # type: ignore[attr-defined]
    return check
