"""groups: Telegram group chats linked to a paguyuban

Revision ID: groups_0001
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import db.types


revision = "groups_0001"
down_revision = "0001"
branch_labels = ("groups",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "paguyuban_chats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("paguyuban_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("linked_at", db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["paguyuban_id"], ["paguyuban.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("chat_id"),
    )
    op.create_index("ix_paguyuban_chats_paguyuban_id", "paguyuban_chats", ["paguyuban_id"])


def downgrade() -> None:
    op.drop_index("ix_paguyuban_chats_paguyuban_id", table_name="paguyuban_chats")
    op.drop_table("paguyuban_chats")
