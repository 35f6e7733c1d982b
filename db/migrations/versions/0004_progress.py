"""campaign progress figures and import log

Revision ID: 0004
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('progress_figures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.String(length=64), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('unit_code', sa.String(length=32), nullable=False),
    sa.Column('metric_id', sa.String(length=40), nullable=False),
    sa.Column('numerator', sa.Float(), nullable=False),
    sa.Column('denominator', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['unit_code'], ['admin_units.code'], name=op.f('fk_progress_figures_unit_code_admin_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_progress_figures')),
    sa.UniqueConstraint('campaign_id', 'date', 'unit_code', 'metric_id', name='uq_progress_figures_key')
    )
    with op.batch_alter_table('progress_figures', schema=None) as batch_op:
        batch_op.create_index('ix_progress_figures_campaign_date', ['campaign_id', 'date'], unique=False)

    op.create_table('progress_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.String(length=64), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_progress_imports_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_progress_imports'))
    )
    with op.batch_alter_table('progress_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_progress_imports_campaign_id'), ['campaign_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('progress_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_progress_imports_campaign_id'))
    op.drop_table('progress_imports')
    with op.batch_alter_table('progress_figures', schema=None) as batch_op:
        batch_op.drop_index('ix_progress_figures_campaign_date')
    op.drop_table('progress_figures')
