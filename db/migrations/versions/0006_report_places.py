"""reports: the handling unit apart from the place; where followers met the problem

A transfer used to overwrite ``reports.unit_code`` (the place). Now the place stays and
``handling_unit_code`` says who handles it. Existing rows: the handling unit is the current
``unit_code``; for a report that was transferred, the place is recovered from its first
"reroute" history row (``from_unit``).

Revision ID: 0006_reports
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa


revision = '0006_reports'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('handling_unit_code', sa.String(length=32), nullable=True))
    op.execute("UPDATE reports SET handling_unit_code = unit_code")
    op.execute("""
        UPDATE reports SET unit_code = (
            SELECT h.from_unit FROM report_history h
            WHERE h.report_id = reports.id AND h.action = 'reroute' AND h.from_unit IS NOT NULL
            ORDER BY h.id LIMIT 1)
        WHERE EXISTS (
            SELECT 1 FROM report_history h
            WHERE h.report_id = reports.id AND h.action = 'reroute' AND h.from_unit IS NOT NULL
              AND h.from_unit IN (SELECT code FROM admin_units))
    """)
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.alter_column('handling_unit_code', existing_type=sa.String(length=32), nullable=False)
        batch_op.create_index(batch_op.f('ix_reports_handling_unit_code'), ['handling_unit_code'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_reports_handling_unit_code_admin_units'), 'admin_units',
                                    ['handling_unit_code'], ['code'])

    with op.batch_alter_table('report_followers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('village_code', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('people_affected', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('created', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_report_followers_village_code_admin_units'), 'admin_units',
                                    ['village_code'], ['code'])


def downgrade() -> None:
    with op.batch_alter_table('report_followers', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_report_followers_village_code_admin_units'), type_='foreignkey')
        batch_op.drop_column('created')
        batch_op.drop_column('people_affected')
        batch_op.drop_column('village_code')
    op.execute("UPDATE reports SET unit_code = handling_unit_code")
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_reports_handling_unit_code_admin_units'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_reports_handling_unit_code'))
        batch_op.drop_column('handling_unit_code')
