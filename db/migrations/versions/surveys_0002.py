"""surveys: who created a survey, and the reminders sent for it

Revision ID: surveys_0002
Revises: surveys_0001
"""
from alembic import op
import sqlalchemy as sa
import db.types


revision = "surveys_0002"
down_revision = "surveys_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_by", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_surveys_created_by_residents", "residents", ["created_by"], ["id"],
                                    ondelete="SET NULL")

    op.create_table(
        "survey_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("area", sa.String(length=16), nullable=False),
        sa.Column("sent_by", sa.Integer(), nullable=True),
        sa.Column("sent_at", db.types.UTCDateTime(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["survey_id"], ["surveys.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["sent_by"], ["residents.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("survey_id", "area"),
    )


def downgrade() -> None:
    op.drop_table("survey_reminders")
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.drop_constraint("fk_surveys_created_by_residents", type_="foreignkey")
        batch_op.drop_column("created_by")
