"""delivery: WhatsApp's window per identity, unreachable identities, outbox priority and
delivery receipts, inbox processing attempts

Revision ID: delivery_0001
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import db.types


revision = "delivery_0001"
down_revision = "0001"
branch_labels = ("delivery",)
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("identities") as batch:
        batch.add_column(sa.Column("last_inbound_at", db.types.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("unreachable", sa.String(length=24), nullable=True))
        batch.add_column(sa.Column("unreachable_at", db.types.UTCDateTime(), nullable=True))
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("priority", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("delivery", sa.String(length=12), nullable=True))
        batch.add_column(sa.Column("delivery_at", db.types.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("error_code", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("failure", sa.String(length=24), nullable=True))
        batch.create_index("ix_outbox_provider", ["provider_id"])
        batch.create_index("ix_outbox_recipient", ["channel", "address", "status"])


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_recipient")
        batch.drop_index("ix_outbox_provider")
        for name in ("failure", "error_code", "delivery_at", "delivery", "priority"):
            batch.drop_column(name)
    with op.batch_alter_table("inbox") as batch:
        batch.drop_column("attempts")
    with op.batch_alter_table("identities") as batch:
        for name in ("unreachable_at", "unreachable", "last_inbound_at"):
            batch.drop_column(name)
