"""alert intake: alerts, occurrences, deliveries, maintenance windows, dead-man

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import itsm_core.timeutil

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "maintenance_windows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("starts_at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "ci_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "matchers",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_windows")),
    )
    with op.batch_alter_table("maintenance_windows", schema=None) as batch_op:
        batch_op.create_index(
            "ix_maintenance_windows_period", ["starts_at", "ends_at"], unique=False
        )

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "alertmanager",
                "generic",
                "collector",
                "analytics",
                "fulcrum",
                name="alertsourcekind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("alert_count", sa.Integer(), nullable=False),
        sa.Column("received_by", sa.String(length=100), nullable=False),
        sa.Column("received_at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("digest", name=op.f("uq_webhook_deliveries_digest")),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_deliveries_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "alert_incidents",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("opened_by_alert", sa.Boolean(), nullable=False),
        sa.Column("auto_resolve", sa.Boolean(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("fault_type", sa.String(length=100), nullable=True),
        sa.Column("last_alert_at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "alerts_resolved_at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("created_at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_alert_incidents_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_alert_incidents")),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "alertmanager",
                "generic",
                "collector",
                "analytics",
                "fulcrum",
                name="alertsourcekind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("fingerprint", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "status",
            sa.Enum("firing", "resolved", name="alertstatus", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "severity",
            sa.Enum(
                "critical",
                "major",
                "warning",
                "info",
                name="severity",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "labels",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "annotations",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("starts_at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("generator_url", sa.Text(), nullable=True),
        sa.Column("ci_id", sa.Integer(), nullable=True),
        sa.Column(
            "binding",
            sa.Enum(
                "source",
                "ci_id",
                "ci_name",
                "hostname",
                "address",
                "proxmox",
                "none",
                name="binding",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("first_seen_at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("occurrence_count", sa.Integer(), nullable=False),
        sa.Column("duplicate_count", sa.Integer(), nullable=False),
        sa.Column("flapping", sa.Boolean(), nullable=False),
        sa.Column("flapping_since", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "transitions",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("suppressed_reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["ci_id"], ["cis.id"], name=op.f("fk_alerts_ci_id_cis"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_alerts_incident_id_incidents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("source", "fingerprint", name=op.f("uq_alerts_source_fingerprint")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_alerts_ci_status", ["ci_id", "status", "incident_id"], unique=False
        )
        batch_op.create_index("ix_alerts_incident_status", ["incident_id", "status"], unique=False)

    op.create_table(
        "deadman_heartbeats",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "first_heartbeat_at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "last_heartbeat_at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("heartbeat_count", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("alarmed_for", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_deadman_heartbeats_incident_id_incidents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_deadman_heartbeats")),
    )
    op.create_table(
        "alert_occurrences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("started_at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("received_at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "resolved_received_at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "role",
            sa.Enum(
                "opened",
                "joined",
                "symptom",
                "reopened",
                "suppressed",
                "damped",
                "recorded",
                name="occurrencerole",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("suppressed_reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_alert_occurrences_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_alert_occurrences_incident_id_incidents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_occurrences")),
        sa.UniqueConstraint("alert_id", "seq", name=op.f("uq_alert_occurrences_alert_id_seq")),
    )
    with op.batch_alter_table("alert_occurrences", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alert_occurrences_incident_id"), ["incident_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("alert_occurrences", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_occurrences_incident_id"))

    op.drop_table("alert_occurrences")
    op.drop_table("deadman_heartbeats")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_incident_status")
        batch_op.drop_index("ix_alerts_ci_status")

    op.drop_table("alerts")
    op.drop_table("alert_incidents")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_received_at"))

    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("maintenance_windows", schema=None) as batch_op:
        batch_op.drop_index("ix_maintenance_windows_period")

    op.drop_table("maintenance_windows")
