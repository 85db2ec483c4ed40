"""reports: problem reports, their supporters and photos

Revision ID: reports_0001
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import db.types


revision = "reports_0001"
down_revision = "0001"
branch_labels = ("reports",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("rt", sa.String(length=8), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("landmark", sa.String(length=200), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_note", sa.Text(), nullable=True),
        sa.Column("status_changed_at", db.types.UTCDateTime(), nullable=False),
        sa.Column("created_at", db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["resident_id"], ["residents.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_reports_similar", "reports", ["category", "rt", "created_at"])
    op.create_index("ix_reports_resident_id", "reports", ["resident_id"])

    op.create_table(
        "report_supports",
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("created_at", db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["resident_id"], ["residents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("report_id", "resident_id"),
    )
    op.create_index("ix_report_supports_resident_id", "report_supports", ["resident_id"])

    op.create_table(
        "report_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", db.types.UTCDateTime(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_report_photos_due", "report_photos", ["status", "not_before"])
    op.create_index("ix_report_photos_report_id", "report_photos", ["report_id"])


def downgrade() -> None:
    op.drop_index("ix_report_photos_report_id", table_name="report_photos")
    op.drop_index("ix_report_photos_due", table_name="report_photos")
    op.drop_table("report_photos")
    op.drop_index("ix_report_supports_resident_id", table_name="report_supports")
    op.drop_table("report_supports")
    op.drop_index("ix_reports_resident_id", table_name="reports")
    op.drop_index("ix_reports_similar", table_name="reports")
    op.drop_table("reports")
