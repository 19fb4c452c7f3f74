"""run_accounts: the unprivileged OS account each run space executes as

A run is untrusted code; when the worker is root it runs as uid RUN_UID_BASE + run_accounts.id,
one account per project workspace and per user scratch directory (app.services.run_identity).

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'run_accounts',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('space_kind', sa.String(length=16), nullable=False),
        sa.Column('space_id', sa.Uuid(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("space_kind IN ('project', 'user')",
                           name=op.f('ck_run_accounts_space_kind')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_run_accounts')),
        sa.UniqueConstraint('space_kind', 'space_id', name='uq_run_accounts_space'),
    )


def downgrade():
    op.drop_table('run_accounts')
