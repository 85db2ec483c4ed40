"""businesses: home businesses and their licences

Revision ID: businesses_0001
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import db.types


revision = "businesses_0001"
down_revision = "0001"
branch_labels = ("businesses",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "businesses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("owner_name", sa.String(length=120), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("products", sa.String(length=500), nullable=False),
        sa.Column("order_contact", sa.String(length=160), nullable=False),
        sa.Column("photo_url", sa.String(length=1000), nullable=True),
        sa.Column("photo_content_type", sa.String(length=100), nullable=True),
        sa.Column("rt_id", sa.Integer(), nullable=True),
        sa.Column("nib", sa.String(length=8), nullable=False),
        sa.Column("pirt", sa.Boolean(), nullable=True),
        sa.Column("halal", sa.Boolean(), nullable=True),
        sa.Column("haki", sa.Boolean(), nullable=False),
        sa.Column("listed_at", db.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", db.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["residents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["rt_id"], ["rts.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("businesses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_businesses_owner_id"), ["owner_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("businesses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_businesses_owner_id"))
    op.drop_table("businesses")
