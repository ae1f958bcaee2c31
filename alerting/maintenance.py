"""Maintenance windows: create, change, delete (audited); suppression reads them.

A window's CIs must exist when it is written (404 naming ``ci_ids`` otherwise); a CI
deleted later simply stops matching.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from alerting.intake_models import MaintenanceWindow
from alerting.schemas import (
    MaintenanceWindowIn,
    MaintenanceWindowPatch,
    _check_window,
)
from itsm_core import audit
from itsm_core.actor import Actor
from itsm_core.errors import NotFound, ValidationFailed
from itsm_core.incidents.service import ci_refs
from itsm_core.timeutil import utcnow


def _view(window: MaintenanceWindow) -> dict[str, Any]:
    return {
        "reason": window.reason,
        "starts_at": window.starts_at,
        "ends_at": window.ends_at,
        "ci_ids": list(window.ci_ids or []),
        "matchers": list(window.matchers or []),
    }


def get_window(session: Session, window_id: int) -> MaintenanceWindow:
    window = session.get(MaintenanceWindow, window_id)
    if window is None:
        raise NotFound(
            f"maintenance window {window_id} does not exist", errors={"id": ["no such window"]}
        )
    return window


def windows_query(active_at: datetime | None = None) -> Select[Any]:
    stmt = select(MaintenanceWindow)
    if active_at is not None:
        stmt = stmt.where(
            MaintenanceWindow.starts_at <= active_at, MaintenanceWindow.ends_at > active_at
        )
    return stmt


def create_window(session: Session, actor: Actor, data: MaintenanceWindowIn) -> MaintenanceWindow:
    ci_ids = ci_refs(session, data.ci_ids, "ci_ids")
    now = utcnow()
    window = MaintenanceWindow(
        reason=data.reason,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        ci_ids=ci_ids,
        matchers=[m.model_dump() for m in data.matchers],
        notes=data.notes,
        created_by=actor.name,
        created_at=now,
        updated_at=now,
    )
    session.add(window)
    session.flush()
    audit.record(
        session, actor, "maintenance_window.create", "maintenance_window", window.id,
        after=_view(window),
    )  # fmt: skip
    return window


def update_window(
    session: Session, actor: Actor, window: MaintenanceWindow, patch: MaintenanceWindowPatch
) -> MaintenanceWindow:
    before = _view(window)
    sent = patch.model_fields_set
    changes: dict[str, Any] = {}
    for field in ("reason", "starts_at", "ends_at", "notes"):
        value = getattr(patch, field)
        if field in sent and value is not None:
            changes[field] = value
    if "ci_ids" in sent and patch.ci_ids is not None:
        changes["ci_ids"] = ci_refs(session, patch.ci_ids, "ci_ids")
    if "matchers" in sent and patch.matchers is not None:
        changes["matchers"] = [m.model_dump() for m in patch.matchers]
    merged = {**_view(window), **changes}
    try:
        _check_window(merged["starts_at"], merged["ends_at"], merged["ci_ids"], merged["matchers"])
    except ValueError as exc:
        raise ValidationFailed.on("body", str(exc)) from exc
    except ValidationError as exc:  # pragma: no cover - _check_window raises ValueError only
        raise ValidationFailed.on("body", str(exc)) from exc
    if not changes:
        return window
    for field, value in changes.items():
        setattr(window, field, value)
    window.updated_at = utcnow()
    session.flush()
    audit.record(
        session, actor, "maintenance_window.update", "maintenance_window", window.id,
        before=before, after=_view(window),
    )  # fmt: skip
    return window


def delete_window(session: Session, actor: Actor, window: MaintenanceWindow) -> None:
    before = _view(window)
    window_id = window.id
    session.delete(window)
    session.flush()
    audit.record(
        session, actor, "maintenance_window.delete", "maintenance_window", window_id,
        before=before,
    )  # fmt: skip
