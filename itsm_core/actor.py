"""Who is doing something: a user through a token, or Fulcrum itself."""

from __future__ import annotations

from dataclasses import dataclass, field

from itsm_core.people.roles import Permission, Role, permissions_of


@dataclass(frozen=True)
class Actor:
    """The identity every domain call is made on behalf of (recorded in the audit log)."""

    name: str
    user_id: int | None = None
    roles: frozenset[Role] = field(default_factory=frozenset)

    @property
    def permissions(self) -> frozenset[Permission]:
        return permissions_of(self.roles)

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    @property
    def is_system(self) -> bool:
        return self.user_id is None


# Background jobs act as the system, which may do everything.
SYSTEM = Actor(name="system", roles=frozenset({Role.ADMIN}))
