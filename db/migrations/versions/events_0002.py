"""events: who created an event, cancellation, and the attendance register

Revision ID: events_0002
Revises: events_0001
"""
import sqlalchemy as sa
from alembic import op

import db.types

revision = "events_0002"
down_revision = "events_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("cancelled_at", db.types.UTCDateTime(), nullable=True))
        batch_op.create_foreign_key("fk_events_created_by_residents", "residents", ["created_by"], ["id"],
                                    ondelete="SET NULL")
    op.create_table(
        "event_attendance",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("marked_at", db.types.UTCDateTime(), nullable=False),
        sa.Column("marked_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["resident_id"], ["residents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["marked_by"], ["residents.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("event_id", "resident_id"),
    )


def downgrade() -> None:
    op.drop_table("event_attendance")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_constraint("fk_events_created_by_residents", type_="foreignkey")
        batch_op.drop_column("cancelled_at")
        batch_op.drop_column("created_by")
