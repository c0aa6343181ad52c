"""documents: a job remembers that the customer sent Word or PowerPoint (its stored file is the PDF)

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('files') as b:
        b.add_column(sa.Column('source_type', sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('files') as b:
        b.drop_column('source_type')
