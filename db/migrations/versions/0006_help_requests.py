"""help requests: citizens ask their commune's digital team for help

Revision ID: 0006_help
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = '0006_help'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('help_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('citizen_id', sa.Integer(), nullable=True),
    sa.Column('unit_code', sa.String(length=32), nullable=False),
    sa.Column('village_code', sa.String(length=32), nullable=True),
    sa.Column('village_text', sa.String(length=200), nullable=False),
    sa.Column('topic_id', sa.String(length=60), nullable=True),
    sa.Column('need', sa.Text(), nullable=False),
    sa.Column('when_text', sa.String(length=200), nullable=False),
    sa.Column('contact', sa.String(length=8), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('routed', sa.String(length=12), nullable=False),
    sa.Column('taker_id', sa.Integer(), nullable=True),
    sa.Column('close_note', sa.Text(), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('rating_comment', sa.Text(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['citizen_id'], ['users.id'], name=op.f('fk_help_requests_citizen_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['taker_id'], ['users.id'], name=op.f('fk_help_requests_taker_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['unit_code'], ['admin_units.code'],
                            name=op.f('fk_help_requests_unit_code_admin_units')),
    sa.ForeignKeyConstraint(['village_code'], ['admin_units.code'],
                            name=op.f('fk_help_requests_village_code_admin_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_help_requests'))
    )
    op.create_index(op.f('ix_help_requests_citizen_id'), 'help_requests', ['citizen_id'], unique=False)
    op.create_index(op.f('ix_help_requests_unit_code'), 'help_requests', ['unit_code'], unique=False)
    op.create_index(op.f('ix_help_requests_status'), 'help_requests', ['status'], unique=False)
    op.create_index(op.f('ix_help_requests_taker_id'), 'help_requests', ['taker_id'], unique=False)
    op.create_index(op.f('ix_help_requests_created'), 'help_requests', ['created'], unique=False)
    op.create_index(op.f('ix_help_requests_closed_at'), 'help_requests', ['closed_at'], unique=False)
    op.create_table('help_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_help_events_actor_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['request_id'], ['help_requests.id'],
                            name=op.f('fk_help_events_request_id_help_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_help_events'))
    )
    op.create_index(op.f('ix_help_events_request_id'), 'help_events', ['request_id'], unique=False)


def downgrade() -> None:
    op.drop_table('help_events')
    op.drop_table('help_requests')
