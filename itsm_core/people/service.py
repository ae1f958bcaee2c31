"""Managing users, groups, role grants and API tokens; every change is audited."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from itsm_core import audit
from itsm_core.actor import Actor
from itsm_core.errors import Conflict, NotFound, Unauthorized
from itsm_core.people.models import ApiToken, Group, User, UserRole
from itsm_core.people.roles import Role
from itsm_core.timeutil import utcnow

TOKEN_PREFIX = "ful_"  # noqa: S105 - a public marker, not a secret


def _user_view(user: User) -> dict[str, object]:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "active": user.active,
        "roles": sorted(user.roles),
    }


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    return user


def find_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def create_user(
    session: Session,
    actor: Actor,
    username: str,
    *,
    display_name: str = "",
    email: str | None = None,
    phone: str | None = None,
    roles: set[Role] | frozenset[Role] = frozenset(),
    timezone: str = "Asia/Shanghai",
    locale: str = "zh-CN",
) -> User:
    if find_user(session, username) is not None:
        raise Conflict(f"user {username!r} already exists", errors={"username": ["taken"]})
    user = User(
        username=username,
        display_name=display_name or username,
        email=email,
        phone=phone,
        timezone=timezone,
        locale=locale,
        role_grants=[UserRole(role=r) for r in sorted(roles)],
    )
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", "user", user.id, after=_user_view(user))
    return user


def grant_role(session: Session, actor: Actor, user: User, role: Role) -> None:
    if role in user.roles:
        return
    before = _user_view(user)
    user.role_grants.append(UserRole(role=role))
    session.flush()
    audit.record(
        session, actor, "user.grant_role", "user", user.id, before=before, after=_user_view(user)
    )


def revoke_role(session: Session, actor: Actor, user: User, role: Role) -> None:
    before = _user_view(user)
    user.role_grants = [g for g in user.role_grants if g.role != role]
    session.flush()
    audit.record(
        session, actor, "user.revoke_role", "user", user.id, before=before, after=_user_view(user)
    )


def get_group(session: Session, group_id: int) -> Group:
    group = session.get(Group, group_id)
    if group is None:
        raise NotFound(f"group {group_id} does not exist")
    return group


def find_group(session: Session, name: str) -> Group | None:
    return session.scalar(select(Group).where(Group.name == name))


def create_group(
    session: Session, actor: Actor, name: str, *, description: str = "", email: str | None = None
) -> Group:
    if find_group(session, name) is not None:
        raise Conflict(f"group {name!r} already exists", errors={"name": ["taken"]})
    group = Group(name=name, description=description, email=email)
    session.add(group)
    session.flush()
    audit.record(session, actor, "group.create", "group", group.id, after={"name": name})
    return group


def add_member(session: Session, actor: Actor, group: Group, user: User) -> None:
    if user in group.members:
        return
    group.members.append(user)
    session.flush()
    audit.record(
        session, actor, "group.add_member", "group", group.id, after={"user": user.username}
    )


@dataclass(frozen=True)
class IssuedToken:
    """A freshly created token: ``secret`` is shown once and never stored."""

    token: ApiToken
    secret: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    session: Session,
    actor: Actor,
    user: User,
    role: Role,
    *,
    name: str = "",
    expires_at: datetime | None = None,
) -> IssuedToken:
    """Issue a token acting as ``user`` in ``role`` (which the user must hold)."""
    if role not in user.roles:
        raise Conflict(
            f"user {user.username!r} does not hold role {role}", errors={"role": ["not held"]}
        )
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        role=role,
        token_hash=_hash(secret),
        prefix=secret[:12],
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    audit.record(
        session,
        actor,
        "token.create",
        "api_token",
        token.id,
        after={"user": user.username, "role": role, "prefix": token.prefix},
    )
    return IssuedToken(token, secret)


def revoke_token(session: Session, actor: Actor, token: ApiToken) -> None:
    token.revoked_at = utcnow()
    session.flush()
    audit.record(
        session, actor, "token.revoke", "api_token", token.id, after={"prefix": token.prefix}
    )


def authenticate(session: Session, secret: str) -> Actor:
    """The actor a bearer token stands for, or ``Unauthorized``."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(secret)))
    now = utcnow()
    if token is None or token.revoked_at is not None:
        raise Unauthorized("invalid or revoked token")
    if token.expires_at is not None and token.expires_at <= now:
        raise Unauthorized("token expired")
    user = token.user
    if not user.active:
        raise Unauthorized("user is inactive")
    if token.role not in user.roles:
        raise Unauthorized(f"token role {token.role} is no longer held by its user")
    return Actor(name=user.username, user_id=user.id, roles=frozenset({token.role}))
