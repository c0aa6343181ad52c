"""hostile input: wrong passwords are counted per (username, client address), not per account

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'login_failures',
        sa.Column('username', sa.String(80), nullable=False),
        sa.Column('client', sa.String(64), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('last_failed_at', sa.DateTime(), nullable=False),
        sa.Column('blocked_until', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('username', 'client'),
    )
    op.create_index('ix_login_failures_last_failed_at', 'login_failures', ['last_failed_at'])


def downgrade() -> None:
    op.drop_index('ix_login_failures_last_failed_at', 'login_failures')
    op.drop_table('login_failures')
