"""Users and groups."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, status
from sqlalchemy import select

from api.deps import CurrentActor, SessionDep, require
from api.pagination import CursorQuery, LimitQuery, Page, paginate
from itsm_core.actor import Actor
from itsm_core.fields import MAX_DB_ID
from itsm_core.people import service as people
from itsm_core.people.models import Group, User
from itsm_core.people.roles import Permission
from itsm_core.people.schemas import GroupCreate, GroupOut, MemberAdd, UserCreate, UserOut, WhoAmI

router = APIRouter(prefix="/api/v1", tags=["people"])
Reader = Annotated[Actor, Depends(require(Permission.PEOPLE_READ))]
Admin = Annotated[Actor, Depends(require(Permission.PEOPLE_ADMIN))]
Id = Annotated[int, Path(ge=1, le=MAX_DB_ID)]


@router.get("/me", summary="Who the token acts as")
def whoami(actor: CurrentActor) -> WhoAmI:
    return WhoAmI(
        username=actor.name,
        user_id=actor.user_id,
        roles=sorted(actor.roles),
        permissions=sorted(actor.permissions),
    )


@router.get("/users", summary="List users")
def list_users(
    session: SessionDep, _: Reader, cursor: CursorQuery = None, limit: LimitQuery = 50
) -> Page[UserOut]:
    rows, next_cursor = paginate(session, select(User), User.id, cursor, limit)
    return Page(items=[UserOut.of(u) for u in rows], next_cursor=next_cursor)


@router.post("/users", status_code=status.HTTP_201_CREATED, summary="Create a user")
def create_user(body: UserCreate, session: SessionDep, actor: Admin) -> UserOut:
    user = people.create_user(
        session,
        actor,
        body.username,
        display_name=body.display_name,
        email=body.email,
        phone=body.phone,
        roles=body.roles,
        timezone=body.timezone,
        locale=body.locale,
    )
    return UserOut.of(user)


@router.get("/users/{user_id}", summary="One user")
def get_user(user_id: Id, session: SessionDep, _: Reader) -> UserOut:
    return UserOut.of(people.get_user(session, user_id))


@router.get("/groups", summary="List groups")
def list_groups(
    session: SessionDep, _: Reader, cursor: CursorQuery = None, limit: LimitQuery = 50
) -> Page[GroupOut]:
    rows, next_cursor = paginate(session, select(Group), Group.id, cursor, limit)
    return Page(items=[GroupOut.of(g) for g in rows], next_cursor=next_cursor)


@router.post("/groups", status_code=status.HTTP_201_CREATED, summary="Create a group")
def create_group(body: GroupCreate, session: SessionDep, actor: Admin) -> GroupOut:
    group = people.create_group(
        session, actor, body.name, description=body.description, email=body.email
    )
    return GroupOut.of(group)


@router.post("/groups/{group_id}/members", summary="Add a user to a group")
def add_member(group_id: Id, body: MemberAdd, session: SessionDep, actor: Admin) -> GroupOut:
    group = people.get_group(session, group_id)
    people.add_member(session, actor, group, people.get_user(session, body.user_id))
    return GroupOut.of(group)
