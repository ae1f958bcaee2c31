"""ORM models of the CMDB: items, relationships and attribute history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from itsm_core.cmdb.choices import Criticality, Lifecycle, RelationType
from itsm_core.db import Base, enum_type
from itsm_core.timeutil import utcnow


class ConfigurationItem(Base):
    """A configuration item of any class; class-specific fields live in ``attributes``."""

    __tablename__ = "cis"
    __table_args__ = (
        # Discovery upserts by (source, external_id); NULL external ids never collide.
        UniqueConstraint("source", "external_id"),
        Index("ix_cis_class_name", "ci_class", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    ci_class: Mapped[str] = mapped_column(String(40))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("cis.id", ondelete="SET NULL"))
    owner_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="SET NULL"), index=True
    )
    criticality: Mapped[Criticality] = mapped_column(
        enum_type(Criticality), default=Criticality.NORMAL
    )
    lifecycle: Mapped[Lifecycle] = mapped_column(enum_type(Lifecycle), default=Lifecycle.ACTIVE)
    tags: Mapped[list[str]] = mapped_column(default=list)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    source: Mapped[str] = mapped_column(String(40), default="manual")
    external_id: Mapped[str | None] = mapped_column(String(200))
    management_address: Mapped[str | None] = mapped_column(String(255), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CIRelationship(Base):
    """A typed, directed edge: ``source <relation> target``."""

    __tablename__ = "ci_relationships"
    __table_args__ = (UniqueConstraint("source_id", "target_id", "relation"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("cis.id", ondelete="CASCADE"), index=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("cis.id", ondelete="CASCADE"), index=True)
    relation: Mapped[RelationType] = mapped_column(enum_type(RelationType))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CIHistory(Base):
    """One attribute change of a CI: who, when, old and new value."""

    __tablename__ = "ci_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    ci_id: Mapped[int] = mapped_column(ForeignKey("cis.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    field: Mapped[str] = mapped_column(String(100))
    old: Mapped[dict[str, Any] | None] = mapped_column()
    new: Mapped[dict[str, Any] | None] = mapped_column()
