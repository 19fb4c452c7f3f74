"""users.token_version: tokens issued before a password change or a disable stop working

Every JWT carries the user's `token_version` as of its issue (claim `tv`); changing the password
or disabling the account increments it, and a token whose `tv` differs is refused (API, pages,
both sockets). Existing tokens have no `tv` and count as 0, the starting value.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_version', sa.Integer(), server_default='0',
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('token_version')
