"""claude conversation: result fields, follow-ups, run directory, permission requests

Every Claude result's `modelUsage`, `permission_denials` and `subtype` are stored on the
execution beside the cost, usage and turns already there, with a warning for a run that
completed although tools were denied. A follow-up run records the prompt it sent, the session
it resumed and the run it follows; every run records the directory it really ran in (a resume
must run where the transcript was made). `run_approvals` keeps the CLI's permission requests
(`can_use_tool`) and who allowed or denied them.

Revision ID: 0008
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0008'
down_revision = '0006'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade():
    with op.batch_alter_table('task_executions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('model_usage', JSON, nullable=True))
        batch_op.add_column(sa.Column('permission_denials', JSON, nullable=True))
        batch_op.add_column(sa.Column('result_subtype', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('warning', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('prompt', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('resume_session_id', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('follow_up_of', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('run_directory', sa.String(length=4096), nullable=True))
    op.create_table(
        'run_approvals',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('execution_id', sa.Uuid(), nullable=False),
        sa.Column('task_id', sa.Uuid(), nullable=False),
        sa.Column('project_id', sa.Uuid(), nullable=False),
        sa.Column('request_id', sa.String(length=200), nullable=False),
        sa.Column('tool_name', sa.String(length=200), nullable=False),
        sa.Column('tool_input', JSON, nullable=True),
        sa.Column('tool_use_id', sa.String(length=200), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('message', sa.Text(), nullable=True),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decided_by', sa.Uuid(), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'allowed', 'denied', 'expired', 'cancelled')",
                           name=op.f('ck_run_approvals_status')),
        sa.ForeignKeyConstraint(['execution_id'], ['task_executions.id'],
                                name=op.f('fk_run_approvals_execution_id_task_executions')),
        sa.ForeignKeyConstraint(['task_id'], ['tasks.id'],
                                name=op.f('fk_run_approvals_task_id_tasks')),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id'],
                                name=op.f('fk_run_approvals_project_id_projects')),
        sa.ForeignKeyConstraint(['decided_by'], ['users.id'],
                                name=op.f('fk_run_approvals_decided_by_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_run_approvals')),
    )
    with op.batch_alter_table('run_approvals', schema=None) as batch_op:
        batch_op.create_index('ix_run_approvals_execution', ['execution_id', 'requested_at'],
                              unique=False)
        batch_op.create_index('ix_run_approvals_status_task', ['status', 'task_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('run_approvals', schema=None) as batch_op:
        batch_op.drop_index('ix_run_approvals_status_task')
        batch_op.drop_index('ix_run_approvals_execution')
    op.drop_table('run_approvals')
    with op.batch_alter_table('task_executions', schema=None) as batch_op:
        for name in ('run_directory', 'follow_up_of', 'resume_session_id', 'prompt', 'warning',
                     'result_subtype', 'permission_denials', 'model_usage'):
            batch_op.drop_column(name)
