"""inbox: dead letters, messages whose processing kept failing

Revision ID: inbox_0001
Revises: delivery_0001
"""
from alembic import op
import sqlalchemy as sa
import db.types


revision = "inbox_0001"
down_revision = "delivery_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inbox_id", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=84), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("failed_at", db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["inbox_id"], ["inbox.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("inbox_id"),
    )
    op.create_index("ix_dead_letters_sender", "dead_letters", ["sender"])


def downgrade() -> None:
    op.drop_index("ix_dead_letters_sender", table_name="dead_letters")
    op.drop_table("dead_letters")
