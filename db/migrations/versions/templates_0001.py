"""templates: WhatsApp message templates created through Twilio's Content API

Revision ID: templates_0001
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import db.types


revision = "templates_0001"
down_revision = "0001"
branch_labels = ("templates",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "whatsapp_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("friendly_name", sa.String(length=64), nullable=False),
        sa.Column("content_sid", sa.String(length=34), nullable=True),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rejection_reason", sa.String(length=500), nullable=True),
        sa.Column("updated_at", db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "language", name="uq_whatsapp_templates_kind_language"),
    )


def downgrade() -> None:
    op.drop_table("whatsapp_templates")
