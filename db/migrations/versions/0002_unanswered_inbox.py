"""unanswered inbox: questions the bot could not answer, 👎 feedback, and officials' rules

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "unanswered_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum("unanswered", "dislike", name="inboxkind", native_enum=False, length=12),
                  nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("folded", sa.String(length=500), nullable=False),
        sa.Column("topic_id", sa.String(length=64), nullable=True),
        sa.Column("candidates", sa.JSON(), nullable=False),
        sa.Column("user_hash", sa.String(length=32), nullable=False),
        sa.Column("status", sa.Enum("new", "mapped", "ignored", name="inboxstatus", native_enum=False, length=12),
                  nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unanswered_questions")),
    )
    op.create_index(op.f("ix_unanswered_questions_folded"), "unanswered_questions", ["folded"])
    op.create_index(op.f("ix_unanswered_questions_status"), "unanswered_questions", ["status"])
    op.create_table(
        "question_rules",
        sa.Column("folded", sa.String(length=500), nullable=False),
        sa.Column("topic_id", sa.String(length=64), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("folded", name=op.f("pk_question_rules")),
    )


def downgrade() -> None:
    op.drop_table("question_rules")
    op.drop_index(op.f("ix_unanswered_questions_status"), table_name="unanswered_questions")
    op.drop_index(op.f("ix_unanswered_questions_folded"), table_name="unanswered_questions")
    op.drop_table("unanswered_questions")
