"""The one exception tree of the domain; ``api.errors`` maps it to HTTP.

::

    FulcrumError
     ├── NotFound              404  a referenced record does not exist
     ├── Conflict              409  the request collides with the current state
     │    └── InvalidTransition     a lifecycle move the state machine forbids
     ├── Forbidden             403  the actor may not do this
     ├── Unauthorized          401  no or bad credentials
     ├── ValidationFailed      422  input that passed parsing but breaks a domain rule
     └── DependencyUnavailable 503  a database or peer is down; retry later

Domain code never raises ``HTTPException``.
"""

from __future__ import annotations


class FulcrumError(Exception):
    """Base of every domain error; ``title`` is a short human summary."""

    title = "Error"

    def __init__(self, detail: str, *, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or {}


class NotFound(FulcrumError):
    title = "Not found"


class Conflict(FulcrumError):
    title = "Conflict"


class InvalidTransition(Conflict):
    title = "Invalid transition"

    def __init__(self, entity: str, current: str, target: str, reason: str | None = None):
        detail = f"{entity} cannot move from '{current}' to '{target}'"
        if reason:
            detail += f": {reason}"
        super().__init__(detail, errors={"state": [detail]})
        self.current = current
        self.target = target


class Forbidden(FulcrumError):
    title = "Forbidden"


class Unauthorized(FulcrumError):
    title = "Unauthorized"


class ValidationFailed(FulcrumError):
    title = "Validation failed"

    @classmethod
    def on(cls, field: str, message: str) -> ValidationFailed:
        """An error on one field."""
        return cls(f"{field}: {message}", errors={field: [message]})


class DependencyUnavailable(FulcrumError):
    title = "Service unavailable"
