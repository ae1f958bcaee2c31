"""ORM models of the CMDB: items, relationships and attribute history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Computed, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from itsm_core.cmdb.choices import Criticality, Lifecycle, RelationType
from itsm_core.db import Base, enum_type
from itsm_core.timeutil import utcnow

# ``A hosts B``: B depends on A; every other relation: the source depends on the target.
DEPENDENT_SQL = "CASE WHEN relation = 'hosts' THEN target_id ELSE source_id END"
DEPENDENCY_SQL = "CASE WHEN relation = 'hosts' THEN source_id ELSE target_id END"

# Any JSON value; Python None is SQL NULL (so "no old value" can be queried with IS NULL).
_JSON_OR_NULL = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


class ConfigurationItem(Base):
    """A configuration item of any class; class-specific fields live in ``attributes``.

    ``attributes`` is validated against the class's schema (``itsm_core.cmdb.classes``)
    on every write, so it never holds a key the class does not declare.
    """

    __tablename__ = "cis"
    __table_args__ = (
        # Discovery upserts by (source, external_id); NULL external ids never collide.
        UniqueConstraint("source", "external_id"),
        Index("ix_cis_class_name", "ci_class", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    ci_class: Mapped[str] = mapped_column(String(40))
    # Always a CI of class ``site`` (checked by the service, not the database).
    site_id: Mapped[int | None] = mapped_column(
        ForeignKey("cis.id", ondelete="SET NULL"), index=True
    )
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
    # When discovery last reported it (None for CIs no collector knows).
    last_seen_at: Mapped[datetime | None] = mapped_column()


class CIRelationship(Base):
    """A typed, directed edge: ``source <relation> target``.

    ``redundant`` (only on ``depends_on`` and ``connected_to``) says the source needs
    just one of its redundant targets of that relation: a dual-homed CPE, a service
    behind two gateway VMs. Losing one of them degrades the source; losing all of them
    takes it down.
    """

    __tablename__ = "ci_relationships"
    __table_args__ = (
        UniqueConstraint("source_id", "target_id", "relation"),
        # Impact analysis counts a dependent's redundant providers on every level.
        Index(
            "ix_ci_relationships_redundant",
            "source_id",
            "relation",
            sqlite_where=text("redundant = 1"),
            postgresql_where=text("redundant"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("cis.id", ondelete="CASCADE"), index=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("cis.id", ondelete="CASCADE"), index=True)
    relation: Mapped[RelationType] = mapped_column(enum_type(RelationType))
    redundant: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Which end needs the other, computed by the database from the relation type (see
    # ``RelationType``): impact analysis follows these whatever wrote the row.
    dependent_id: Mapped[int] = mapped_column(Computed(DEPENDENT_SQL, persisted=True), index=True)
    dependency_id: Mapped[int] = mapped_column(Computed(DEPENDENCY_SQL, persisted=True), index=True)


class CIHistory(Base):
    """One attribute change of a CI: who, when, which field, old and new value.

    ``field`` is a CI column (``name``, ``lifecycle``, ``site_id``…), ``attributes.<key>``
    for one class attribute, ``created`` (``new`` holds the first snapshot) or
    ``relationship`` (a relationship added or removed; ``old``/``new`` describe it).
    ``old`` and ``new`` hold any JSON value.
    """

    __tablename__ = "ci_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    ci_id: Mapped[int] = mapped_column(ForeignKey("cis.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    field: Mapped[str] = mapped_column(String(100))
    old: Mapped[Any] = mapped_column(_JSON_OR_NULL, nullable=True)
    new: Mapped[Any] = mapped_column(_JSON_OR_NULL, nullable=True)
