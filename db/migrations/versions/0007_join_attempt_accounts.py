"""invite attempts: counted per hashed account, kept (detached) after /deletemydata

Revision ID: 0007_join_attempts
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa


revision = '0007_join_attempts'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('join_attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('account', sa.String(length=32), nullable=True))
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(batch_op.f('ix_join_attempts_account'), ['account'], unique=False)


def downgrade() -> None:
    op.execute("DELETE FROM join_attempts WHERE user_id IS NULL")
    with op.batch_alter_table('join_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_join_attempts_account'))
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('account')
