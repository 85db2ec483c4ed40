"""broadcasts: photos fetched into the data directory, for every channel

Revision ID: broadcasts_0002
Revises: broadcasts_0001
"""
from alembic import op
import sqlalchemy as sa
import db.types


revision = "broadcasts_0002"
down_revision = "broadcasts_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "broadcast_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", db.types.UTCDateTime(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["broadcast_id"], ["broadcasts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("broadcast_id"),
    )
    op.create_index("ix_broadcast_photos_due", "broadcast_photos", ["status", "not_before"])


def downgrade() -> None:
    op.drop_index("ix_broadcast_photos_due", table_name="broadcast_photos")
    op.drop_table("broadcast_photos")
