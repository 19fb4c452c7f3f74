"""project_budget_alerts: a project's monthly budget alerts, once per threshold per month

A project's `resource_limits.monthly_budget_usd` is checked against the cost its Claude runs
reported in the calendar month (UTC); reaching 80 % and 100 % raises `system.alert` (and
`budget.exceeded` at 100 %) once each, which this table's unique key guarantees.

Revision ID: 0006
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'project_budget_alerts',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('project_id', sa.Uuid(), nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('threshold', sa.Integer(), nullable=False),
        sa.Column('spent_usd', sa.Float(), nullable=False),
        sa.Column('budget_usd', sa.Float(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id'],
                                name=op.f('fk_project_budget_alerts_project_id_projects')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_project_budget_alerts')),
        sa.UniqueConstraint('project_id', 'month', 'threshold',
                            name='uq_project_budget_alerts_month'),
    )


def downgrade():
    op.drop_table('project_budget_alerts')
