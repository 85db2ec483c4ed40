"""broadcasts: announcements, their runs and per-recipient deliveries

Revision ID: broadcasts_0001
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import db.types


revision = "broadcasts_0001"
down_revision = "0001"
branch_labels = ("broadcasts",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.Integer(), nullable=True),
        sa.Column("sender_name", sa.String(length=120), nullable=False),
        sa.Column("sender_role", sa.String(length=16), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("media_url", sa.String(length=500), nullable=True),
        sa.Column("audience", sa.String(length=140), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=True),
        sa.Column("next_run_at", db.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", db.types.UTCDateTime(), nullable=False),
        sa.Column("cancelled_at", db.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["sender_id"], ["residents.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_broadcasts_due", "broadcasts", ["status", "next_run_at"])
    op.create_table(
        "broadcast_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("due_at", db.types.UTCDateTime(), nullable=False),
        sa.Column("started_at", db.types.UTCDateTime(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("summary_at", db.types.UTCDateTime(), nullable=True),
        sa.Column("sent", sa.Integer(), nullable=True),
        sa.Column("failed", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["broadcast_id"], ["broadcasts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_broadcast_runs_broadcast_id", "broadcast_runs", ["broadcast_id"])
    op.create_index("ix_broadcast_runs_summary_at", "broadcast_runs", ["summary_at"])
    op.create_table(
        "broadcast_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("chat_id", sa.String(length=64), nullable=True),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["broadcast_runs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["resident_id"], ["residents.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_broadcast_deliveries_run_id", "broadcast_deliveries", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_broadcast_deliveries_run_id", table_name="broadcast_deliveries")
    op.drop_table("broadcast_deliveries")
    op.drop_index("ix_broadcast_runs_summary_at", table_name="broadcast_runs")
    op.drop_index("ix_broadcast_runs_broadcast_id", table_name="broadcast_runs")
    op.drop_table("broadcast_runs")
    op.drop_index("ix_broadcasts_due", table_name="broadcasts")
    op.drop_table("broadcasts")
