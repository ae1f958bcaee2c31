"""Creating, changing, retiring and discovering CIs.

Every write records the changed fields in ``ci_history`` and one entry in the audit log,
and only flushes: the caller owns the transaction. A CI is never deleted — ``retire_ci``
ends its life, ``mark_missing`` flags one that discovery no longer sees.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from itsm_core import audit
from itsm_core.actor import Actor
from itsm_core.cmdb import history
from itsm_core.cmdb.choices import Lifecycle
from itsm_core.cmdb.classes import SITE, get_class, validate_attributes
from itsm_core.cmdb.history import Change
from itsm_core.cmdb.lifecycle import check_move
from itsm_core.cmdb.models import ConfigurationItem
from itsm_core.cmdb.schemas import CICreate, CIUpsert, parse
from itsm_core.errors import Conflict, NotFound, ValidationFailed
from itsm_core.people.models import Group
from itsm_core.timeutil import utcnow

ENTITY = "ci"


def get_ci(session: Session, ci_id: int) -> ConfigurationItem:
    ci = session.get(ConfigurationItem, ci_id)
    if ci is None:
        raise NotFound(f"CI {ci_id} does not exist")
    return ci


def find_by_external_id(
    session: Session, source: str, external_id: str
) -> ConfigurationItem | None:
    return session.scalar(
        select(ConfigurationItem).where(
            ConfigurationItem.source == source, ConfigurationItem.external_id == external_id
        )
    )


def _check_site(session: Session, site_id: int, ci: ConfigurationItem | None) -> None:
    if ci is not None and ci.id == site_id:
        raise ValidationFailed.on("site_id", "a CI cannot be its own site")
    site = session.get(ConfigurationItem, site_id)
    if site is None:
        raise ValidationFailed.on("site_id", f"CI {site_id} does not exist")
    if site.ci_class != SITE:
        raise ValidationFailed.on("site_id", f"CI {site_id} is a {site.ci_class}, not a site")


def _check_group(session: Session, group_id: int) -> None:
    if session.get(Group, group_id) is None:
        raise ValidationFailed.on("owner_group_id", f"group {group_id} does not exist")


def _check_identity(
    session: Session, source: str, external_id: str | None, ci: ConfigurationItem | None
) -> None:
    if external_id is None:
        return
    other = find_by_external_id(session, source, external_id)
    if other is not None and other is not ci:
        raise Conflict(
            f"CI {other.id} already has source {source!r} and external id {external_id!r}",
            errors={"external_id": [f"already used by CI {other.id}"]},
        )


def _changed_view(changes: list[Change]) -> tuple[dict[str, Any], dict[str, Any]]:
    return {c.field: c.old for c in changes}, {c.field: c.new for c in changes}


def create_ci(
    session: Session, actor: Actor, data: CICreate | Mapping[str, Any]
) -> ConfigurationItem:
    """A new CI; its attributes are validated against its class."""
    body = parse(CICreate, data)
    get_class(body.ci_class)
    attributes = validate_attributes(body.ci_class, body.attributes)
    if body.site_id is not None:
        _check_site(session, body.site_id, None)
    if body.owner_group_id is not None:
        _check_group(session, body.owner_group_id)
    _check_identity(session, body.source, body.external_id, None)
    ci = ConfigurationItem(**body.model_dump(exclude={"attributes"}), attributes=attributes)
    session.add(ci)
    session.flush()
    history.record_created(session, actor, ci)
    audit.record(session, actor, "ci.create", ENTITY, ci.id, after=history.snapshot(ci))
    return ci


def _apply(session: Session, ci: ConfigurationItem, fields: Mapping[str, Any]) -> list[Change]:
    """Set ``fields`` on ``ci`` after checking each; return what actually changed."""
    before = history.snapshot(ci)
    for key, value in fields.items():
        if key == "attributes":
            merged = dict(ci.attributes or {})
            for name, item in value.items():
                if item is None:
                    merged.pop(name, None)
                else:
                    merged[name] = item
            ci.attributes = validate_attributes(ci.ci_class, merged)
        elif key == "lifecycle":
            check_move(ci.lifecycle, value)
            ci.lifecycle = value
        elif key == "site_id":
            if value is not None and value != ci.site_id:
                _check_site(session, value, ci)
            ci.site_id = value
        elif key == "owner_group_id":
            if value is not None and value != ci.owner_group_id:
                _check_group(session, value)
            ci.owner_group_id = value
        elif key == "tags":
            ci.tags = list(value)
        else:
            setattr(ci, key, value)
    if {"source", "external_id"} & set(fields):
        _check_identity(session, ci.source, ci.external_id, ci)
    return history.diff(before, history.snapshot(ci))


def update_ci(
    session: Session,
    actor: Actor,
    ci: ConfigurationItem,
    fields: Mapping[str, Any],
    *,
    action: str = "ci.update",
) -> list[Change]:
    """Apply ``fields`` (column name → new value; ``attributes`` is merged) to ``ci``.

    Records history and an audit entry when something changed; returns the changes.
    """
    changes = _apply(session, ci, fields)
    if changes:
        session.flush()
        history.record(session, actor, ci.id, changes)
        before, after = _changed_view(changes)
        audit.record(session, actor, action, ENTITY, ci.id, before=before, after=after)
    return changes


def retire_ci(session: Session, actor: Actor, ci: ConfigurationItem) -> list[Change]:
    """End the CI's life (the API's DELETE); it stays in the CMDB with its history."""
    return update_ci(session, actor, ci, {"lifecycle": Lifecycle.RETIRED}, action="ci.retire")


def mark_missing(session: Session, actor: Actor, ci: ConfigurationItem) -> bool:
    """Flag a CI discovery no longer sees; False if it is planned, retired or already missing."""
    if ci.lifecycle not in (Lifecycle.ACTIVE, Lifecycle.MAINTENANCE):
        return False
    update_ci(session, actor, ci, {"lifecycle": Lifecycle.MISSING}, action="ci.missing")
    return True


def mark_unseen_missing(
    session: Session,
    actor: Actor,
    source: str,
    seen_external_ids: Collection[str],
    *,
    ci_classes: Collection[str] | None = None,
) -> list[ConfigurationItem]:
    """After a full discovery run of ``source``: flag every CI of it that was not seen.

    ``ci_classes`` narrows the sweep to what the run covered (a Proxmox run sees nodes
    and VMs, not interfaces).
    """
    stmt = select(ConfigurationItem).where(
        ConfigurationItem.source == source,
        ConfigurationItem.external_id.is_not(None),
        ConfigurationItem.lifecycle.in_([Lifecycle.ACTIVE, Lifecycle.MAINTENANCE]),
    )
    if ci_classes is not None:
        stmt = stmt.where(ConfigurationItem.ci_class.in_(list(ci_classes)))
    seen = set(seen_external_ids)
    lost = [
        ci
        for ci in session.scalars(stmt.order_by(ConfigurationItem.id))
        if ci.external_id not in seen
    ]
    for ci in lost:
        mark_missing(session, actor, ci)
    return lost


@dataclass
class UpsertResult:
    """What ``upsert_ci`` did: the CI, whether it is new, and the changed fields."""

    ci: ConfigurationItem
    created: bool
    changes: list[Change] = field(default_factory=list)


def upsert_ci(
    session: Session,
    actor: Actor,
    source: str,
    external_id: str,
    data: CIUpsert | Mapping[str, Any],
) -> UpsertResult:
    """Create or update the CI discovery knows as (``source``, ``external_id``).

    Only the fields in ``data`` are applied (attributes merged), so what people added by
    hand survives the next run; history is written only for fields that changed. A
    ``missing`` CI seen again becomes ``active``; a ``retired`` one stays retired (a
    person decided that) but its ``last_seen_at`` still moves.
    """
    body = parse(CIUpsert, data)
    new = {**body.model_dump(exclude_unset=True), "source": source, "external_id": external_id}
    create = parse(CICreate, new)  # also checks the identity's own format
    assert create.external_id is not None
    existing = find_by_external_id(session, create.source, create.external_id)
    if existing is None:
        ci = create_ci(session, actor, create)
        ci.last_seen_at = utcnow()
        return UpsertResult(ci, True)
    if existing.ci_class != body.ci_class:
        raise Conflict(
            f"{source}/{external_id} is CI {existing.id}, a {existing.ci_class}, "
            f"not a {body.ci_class}",
            errors={"class": [f"CI {existing.id} is a {existing.ci_class}"]},
        )
    fields = body.changes()
    if existing.lifecycle == Lifecycle.MISSING and "lifecycle" not in fields:
        fields["lifecycle"] = Lifecycle.ACTIVE
    changes = update_ci(session, actor, existing, fields, action="ci.discover")
    existing.last_seen_at = utcnow()
    return UpsertResult(existing, False, changes)
