"""The attribute history of CIs: one ``ci_history`` row per changed field.

Snapshots are plain JSON (enums as their values), so the same dictionaries feed the
history table, the audit log and the comparisons that decide what changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from itsm_core.actor import Actor
from itsm_core.cmdb.models import CIHistory, CIRelationship, ConfigurationItem

# Columns whose changes are recorded; ``attributes`` is compared key by key.
TRACKED = (
    "name",
    "ci_class",
    "site_id",
    "owner_group_id",
    "criticality",
    "lifecycle",
    "tags",
    "source",
    "external_id",
    "management_address",
    "description",
)


@dataclass(frozen=True)
class Change:
    """One field that changed: ``attributes.<key>`` for a class attribute."""

    field: str
    old: Any
    new: Any


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value


def snapshot(ci: ConfigurationItem) -> dict[str, Any]:
    """The CI's tracked fields and attributes as JSON values."""
    view = {name: _plain(getattr(ci, name)) for name in TRACKED}
    view["attributes"] = dict(ci.attributes or {})
    return view


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """What differs between two snapshots, one ``Change`` per field or attribute."""
    changes = [
        Change(name, before.get(name), after.get(name))
        for name in TRACKED
        if before.get(name) != after.get(name)
    ]
    old_attrs: dict[str, Any] = before.get("attributes") or {}
    new_attrs: dict[str, Any] = after.get("attributes") or {}
    for key in sorted(set(old_attrs) | set(new_attrs)):
        if old_attrs.get(key) != new_attrs.get(key):
            changes.append(Change(f"attributes.{key}", old_attrs.get(key), new_attrs.get(key)))
    return changes


def record(session: Session, actor: Actor, ci_id: int, changes: list[Change]) -> None:
    """Add one history row per change (flushed with the caller's next flush)."""
    session.add_all(
        CIHistory(ci_id=ci_id, actor=actor.name, field=c.field, old=c.old, new=c.new)
        for c in changes
    )


def record_created(session: Session, actor: Actor, ci: ConfigurationItem) -> None:
    session.add(CIHistory(ci_id=ci.id, actor=actor.name, field="created", new=snapshot(ci)))


def relationship_view(
    rel: CIRelationship, source: ConfigurationItem, target: ConfigurationItem
) -> dict[str, Any]:
    return {
        "id": rel.id,
        "relation": rel.relation.value,
        "redundant": rel.redundant,
        "source_id": source.id,
        "source": source.name,
        "target_id": target.id,
        "target": target.name,
    }


def record_relationship(
    session: Session,
    actor: Actor,
    rel: CIRelationship,
    source: ConfigurationItem,
    target: ConfigurationItem,
    *,
    added: bool,
) -> None:
    """A relationship added or removed, on the history of both of its CIs."""
    view = relationship_view(rel, source, target)
    old, new = (None, view) if added else (view, None)
    for ci_id in {source.id, target.id}:
        session.add(
            CIHistory(ci_id=ci_id, actor=actor.name, field="relationship", old=old, new=new)
        )


def history_query(ci_id: int, field: str | None = None) -> Select[CIHistory]:
    """The history rows of one CI (optionally of one field or ``attributes.*``)."""
    stmt = select(CIHistory).where(CIHistory.ci_id == ci_id)
    if field is not None:
        if field.endswith(".*"):
            stmt = stmt.where(CIHistory.field.startswith(field[:-1], autoescape=True))
        else:
            stmt = stmt.where(CIHistory.field == field)
    return stmt
