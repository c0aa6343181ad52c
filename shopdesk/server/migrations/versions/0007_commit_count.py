"""a count of write transactions (SQLite): each server process tells its own commits from other
processes' by it, so what it keeps in memory (logins, queue revisions) survives its own writes

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        'commit_count',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('n', sa.BigInteger(), nullable=False),
    )
    op.bulk_insert(table, [{'id': 1, 'n': 0}])


def downgrade() -> None:
    op.drop_table('commit_count')
