"""metric store: series, samples, roll-ups; collector poll state

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import itsm_core.timeutil

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=200), nullable=False),
        sa.Column(
            "labels",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("labels_hash", sa.String(length=64), nullable=False),
        sa.Column("ci_source", sa.String(length=40), nullable=True),
        sa.Column("ci_external_id", sa.String(length=200), nullable=True),
        sa.Column("ci_id", sa.Integer(), nullable=True),
        sa.Column("created_at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_sample_at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["ci_id"], ["cis.id"], name=op.f("fk_series_ci_id_cis"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_series")),
        sa.UniqueConstraint("labels_hash", "metric", name=op.f("uq_series_labels_hash_metric")),
    )
    op.create_index(op.f("ix_series_ci_id"), "series", ["ci_id"], unique=False)
    op.create_index(op.f("ix_series_metric"), "series", ["metric"], unique=False)
    op.create_table(
        "samples",
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("ts", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["series.id"],
            name=op.f("fk_samples_series_id_series"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("series_id", "ts", name=op.f("pk_samples")),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_samples_ts", "samples", ["ts"], unique=False)
    op.create_table(
        "rollups",
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("bucket_start", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("min", sa.Double(), nullable=False),
        sa.Column("max", sa.Double(), nullable=False),
        sa.Column("avg", sa.Double(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["series.id"],
            name=op.f("fk_rollups_series_id_series"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("series_id", "bucket_start", name=op.f("pk_rollups")),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_rollups_bucket_start", "rollups", ["bucket_start"], unique=False)
    op.create_table(
        "collector_target_state",
        sa.Column("target_key", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("last_reason", sa.String(length=40), nullable=True),
        sa.Column("last_detail", sa.String(length=500), nullable=True),
        sa.Column("last_attempt_at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("failing_since", itsm_core.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("alert_raised", sa.Boolean(), nullable=False),
        sa.Column("alert_reason", sa.String(length=40), nullable=True),
        sa.Column("ci_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ci_id"],
            ["cis.id"],
            name=op.f("fk_collector_target_state_ci_id_cis"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("target_key", name=op.f("pk_collector_target_state")),
    )


def downgrade() -> None:
    op.drop_table("collector_target_state")
    op.drop_index("ix_rollups_bucket_start", table_name="rollups")
    op.drop_table("rollups")
    op.drop_index("ix_samples_ts", table_name="samples")
    op.drop_table("samples")
    op.drop_index(op.f("ix_series_metric"), table_name="series")
    op.drop_index(op.f("ix_series_ci_id"), table_name="series")
    op.drop_table("series")
