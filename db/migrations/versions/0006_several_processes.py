"""several processes: outbox claims with a lease, leases, media in the database

Revision ID: 0006_process
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa


revision = '0006_process'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_messages') as batch:
        batch.add_column(sa.Column('claimed_by', sa.String(length=128), nullable=True))
        batch.add_column(sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table('leases',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('holder', sa.String(length=128), nullable=False),
    sa.Column('expires', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_leases'))
    )
    op.create_table('media_items',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=128), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('expires', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_media_items'))
    )
    op.create_index(op.f('ix_media_items_expires'), 'media_items', ['expires'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_media_items_expires'), table_name='media_items')
    op.drop_table('media_items')
    op.drop_table('leases')
    with op.batch_alter_table('outbox_messages') as batch:
        batch.drop_column('claimed_at')
        batch.drop_column('claimed_by')
