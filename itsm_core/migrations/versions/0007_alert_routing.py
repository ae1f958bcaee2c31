"""routing rules and contingency plans

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import itsm_core.timeutil

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contingency_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("steps", sa.Text(), nullable=False),
        sa.Column("created_at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contingency_plans")),
        sa.UniqueConstraint("name", name=op.f("uq_contingency_plans_name")),
    )
    op.create_table(
        "routing_generation",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("changed_at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_generation")),
    )
    op.create_table(
        "routing_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column(
            "matchers",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "severities",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "ci_classes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "site_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "site_kinds",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("fault_type", sa.String(length=100), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "incident",
                "consultation",
                "complaint",
                name="incidentkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("assignment_group_id", sa.Integer(), nullable=True),
        sa.Column("first_responsible_id", sa.Integer(), nullable=True),
        sa.Column("second_responsible_id", sa.Integer(), nullable=True),
        sa.Column(
            "urgency",
            sa.Enum("high", "medium", "low", name="level", native_enum=False, length=32),
            nullable=True,
        ),
        sa.Column(
            "min_impact",
            sa.Enum("high", "medium", "low", name="level", native_enum=False, length=32),
            nullable=True,
        ),
        sa.Column("contingency_plan_id", sa.Integer(), nullable=True),
        sa.Column("auto_resolve", sa.Boolean(), nullable=False),
        sa.Column("created_at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignment_group_id"],
            ["groups.id"],
            name=op.f("fk_routing_rules_assignment_group_id_groups"),
        ),
        sa.ForeignKeyConstraint(
            ["contingency_plan_id"],
            ["contingency_plans.id"],
            name=op.f("fk_routing_rules_contingency_plan_id_contingency_plans"),
        ),
        sa.ForeignKeyConstraint(
            ["first_responsible_id"],
            ["users.id"],
            name=op.f("fk_routing_rules_first_responsible_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["second_responsible_id"],
            ["users.id"],
            name=op.f("fk_routing_rules_second_responsible_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_rules")),
        sa.UniqueConstraint("name", name=op.f("uq_routing_rules_name")),
    )
    with op.batch_alter_table("routing_rules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_routing_rules_assignment_group_id"),
            ["assignment_group_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_routing_rules_contingency_plan_id"),
            ["contingency_plan_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_routing_rules_first_responsible_id"),
            ["first_responsible_id"],
            unique=False,
        )
        batch_op.create_index("ix_routing_rules_position", ["position", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_routing_rules_second_responsible_id"),
            ["second_responsible_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("routing_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_routing_rules_second_responsible_id"))
        batch_op.drop_index("ix_routing_rules_position")
        batch_op.drop_index(batch_op.f("ix_routing_rules_first_responsible_id"))
        batch_op.drop_index(batch_op.f("ix_routing_rules_contingency_plan_id"))
        batch_op.drop_index(batch_op.f("ix_routing_rules_assignment_group_id"))

    op.drop_table("routing_rules")
    op.drop_table("routing_generation")
    op.drop_table("contingency_plans")
