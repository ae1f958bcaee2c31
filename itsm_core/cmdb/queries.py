"""Finding CIs: the filters of the CI list (and of anything else that searches the CMDB)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, column, exists, func, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB

from itsm_core.cmdb.choices import Criticality, Lifecycle
from itsm_core.cmdb.models import ConfigurationItem as CI


@dataclass(frozen=True)
class CIFilter:
    """Every field narrows the list; ``lifecycle`` None means all but retired CIs."""

    ci_class: str | None = None
    site_id: int | None = None
    owner_group_id: int | None = None
    criticality: Criticality | None = None
    lifecycle: tuple[Lifecycle, ...] | None = None
    tag: str | None = None
    # Case-insensitive "name contains".
    q: str | None = None
    source: str | None = None
    external_id: str | None = None
    management_address: str | None = None


def _normalise_address(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return value.strip().lower().rstrip(".")


def _has_tag(tag: str, dialect: str) -> ColumnElement[bool]:
    if dialect == "postgresql":
        return type_coerce(CI.tags, JSONB).contains([tag])
    values = func.json_each(CI.tags).table_valued("value")
    return exists(select(1).select_from(values).where(column("value") == tag))


def ci_query(criteria: CIFilter, dialect: str) -> Select[CI]:
    """The CIs matching ``criteria`` (unordered; the caller paginates)."""
    stmt = select(CI)
    if criteria.ci_class is not None:
        stmt = stmt.where(CI.ci_class == criteria.ci_class)
    if criteria.site_id is not None:
        stmt = stmt.where(CI.site_id == criteria.site_id)
    if criteria.owner_group_id is not None:
        stmt = stmt.where(CI.owner_group_id == criteria.owner_group_id)
    if criteria.criticality is not None:
        stmt = stmt.where(CI.criticality == criteria.criticality)
    if criteria.lifecycle:
        stmt = stmt.where(CI.lifecycle.in_(criteria.lifecycle))
    else:
        stmt = stmt.where(CI.lifecycle != Lifecycle.RETIRED)
    if criteria.tag is not None:
        stmt = stmt.where(_has_tag(criteria.tag, dialect))
    if criteria.q:
        stmt = stmt.where(CI.name.icontains(criteria.q, autoescape=True))
    if criteria.source is not None:
        stmt = stmt.where(CI.source == criteria.source)
    if criteria.external_id is not None:
        stmt = stmt.where(CI.external_id == criteria.external_id)
    if criteria.management_address is not None:
        stmt = stmt.where(CI.management_address == _normalise_address(criteria.management_address))
    return stmt
