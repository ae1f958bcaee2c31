"""Validated input and output shapes for people."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from itsm_core.fields import DbId
from itsm_core.people.models import Group, User
from itsm_core.people.roles import Role

Username = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$")


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Username
    display_name: str = Field(default="", max_length=200)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=40)
    roles: set[Role] = Field(default_factory=set)
    timezone: str = Field(default="Asia/Shanghai", max_length=64)
    locale: str = Field(default="zh-CN", pattern=r"^(zh-CN|en)$")


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    email: str | None
    phone: str | None
    timezone: str
    locale: str
    active: bool
    roles: list[Role]
    groups: list[str]
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            email=user.email,
            phone=user.phone,
            timezone=user.timezone,
            locale=user.locale,
            active=user.active,
            roles=sorted(user.roles),
            groups=sorted(g.name for g in user.groups),
            created_at=user.created_at,
        )


class GroupCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=500)
    email: EmailStr | None = None


class GroupOut(BaseModel):
    id: int
    name: str
    description: str
    email: str | None
    members: list[str]

    @classmethod
    def of(cls, group: Group) -> GroupOut:
        return cls(
            id=group.id,
            name=group.name,
            description=group.description,
            email=group.email,
            members=sorted(u.username for u in group.members),
        )


class MemberAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: DbId


class WhoAmI(BaseModel):
    username: str
    user_id: int | None
    roles: list[Role]
    permissions: list[str]
