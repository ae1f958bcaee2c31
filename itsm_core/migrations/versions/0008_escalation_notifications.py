"""escalation policies and due times, notification channels and delivery log

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import itsm_core.timeutil

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notification_channels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "wecom",
                "dingtalk",
                "email",
                "webhook",
                name="channelkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column(
            "language",
            sa.Enum("zh", "en", name="language", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "group_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "events",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "priorities",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "config",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "secret",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_channels")),
        sa.UniqueConstraint("name", name=op.f("uq_notification_channels_name")),
    )
    op.create_table(
        "escalation_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "priority",
            sa.Enum("P1", "P2", "P3", "P4", "P5", name="priority", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("first_after_minutes", sa.Integer(), nullable=True),
        sa.Column("second_after_minutes", sa.Integer(), nullable=True),
        sa.Column("management_after_minutes", sa.Integer(), nullable=True),
        sa.Column("first_responsible_id", sa.Integer(), nullable=True),
        sa.Column("second_responsible_id", sa.Integer(), nullable=True),
        sa.Column("management_group_id", sa.Integer(), nullable=True),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["first_responsible_id"],
            ["users.id"],
            name=op.f("fk_escalation_policies_first_responsible_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["management_group_id"],
            ["groups.id"],
            name=op.f("fk_escalation_policies_management_group_id_groups"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["second_responsible_id"],
            ["users.id"],
            name=op.f("fk_escalation_policies_second_responsible_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_policies")),
        sa.UniqueConstraint("priority", name=op.f("uq_escalation_policies_priority")),
    )
    op.create_table(
        "incident_escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column(
            "cycle_started_at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "level",
            sa.Enum(
                "first_responsible",
                "second_responsible",
                "management",
                name="escalationlevel",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "priority",
            sa.Enum("P1", "P2", "P3", "P4", "P5", name="priority", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("after_minutes", sa.Integer(), nullable=False),
        sa.Column("due_at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("fired_at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "cancel_reason",
            sa.Enum(
                "accepted",
                "closed",
                "child",
                "policy",
                "superseded",
                name="cancelreason",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("target_user_id", sa.Integer(), nullable=True),
        sa.Column("target_group_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_escalations_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_group_id"],
            ["groups.id"],
            name=op.f("fk_incident_escalations_target_group_id_groups"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["target_user_id"],
            ["users.id"],
            name=op.f("fk_incident_escalations_target_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_escalations")),
        sa.UniqueConstraint(
            "incident_id",
            "cycle_started_at",
            "level",
            name=op.f("uq_incident_escalations_incident_id_cycle_started_at_level"),
        ),
    )
    op.create_index("ix_incident_escalations_due", "incident_escalations", ["due_at"], unique=False)
    op.create_index(
        op.f("ix_incident_escalations_incident_id"),
        "incident_escalations",
        ["incident_id"],
        unique=False,
    )
    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=True),
        sa.Column("channel_name", sa.String(length=100), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column(
            "event",
            sa.Enum(
                "opened",
                "escalated",
                "alerts_resolved",
                "resolved",
                "deadman",
                "test",
                name="notificationevent",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "context",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "recipients",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "sending",
                "sent",
                "failed",
                "cancelled",
                name="deliverystatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_until", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("queued_at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["notification_channels.id"],
            name=op.f("fk_notification_deliveries_channel_id_notification_channels"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_notification_deliveries_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_deliveries")),
    )
    op.create_index(
        op.f("ix_notification_deliveries_channel_id"),
        "notification_deliveries",
        ["channel_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_notification_deliveries_incident_id"),
        "notification_deliveries",
        ["incident_id"],
        unique=False,
    )
    op.create_index(
        "ix_notification_deliveries_status_next",
        "notification_deliveries",
        ["status", "next_attempt_at"],
        unique=False,
    )
    op.create_table(
        "notification_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sa.String(length=1000), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["notification_deliveries.id"],
            name=op.f("fk_notification_attempts_delivery_id_notification_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_attempts")),
    )
    op.create_index(
        op.f("ix_notification_attempts_delivery_id"),
        "notification_attempts",
        ["delivery_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_notification_attempts_delivery_id"), table_name="notification_attempts")
    op.drop_table("notification_attempts")
    op.drop_index("ix_notification_deliveries_status_next", table_name="notification_deliveries")
    op.drop_index(
        op.f("ix_notification_deliveries_incident_id"), table_name="notification_deliveries"
    )
    op.drop_index(
        op.f("ix_notification_deliveries_channel_id"), table_name="notification_deliveries"
    )
    op.drop_table("notification_deliveries")
    op.drop_index(op.f("ix_incident_escalations_incident_id"), table_name="incident_escalations")
    op.drop_index("ix_incident_escalations_due", table_name="incident_escalations")
    op.drop_table("incident_escalations")
    op.drop_table("escalation_policies")
    op.drop_table("notification_channels")
