"""owner controls: shop profile, active logins, the shop's own audit trail

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('shops') as b:
        b.add_column(sa.Column('address', sa.String(200), nullable=False, server_default=''))
        b.add_column(sa.Column('phone', sa.String(40), nullable=False, server_default=''))
        b.add_column(sa.Column('hours', sa.String(200), nullable=False, server_default=''))
    with op.batch_alter_table('users') as b:
        b.add_column(sa.Column('active', sa.Boolean(), nullable=False, server_default=sa.true()))
        b.add_column(sa.Column('last_login_at', sa.DateTime(), nullable=True))
    op.create_table(
        'shop_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('shop_id', sa.Integer(), nullable=True),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('actor', sa.String(80), nullable=False),
        sa.Column('action', sa.String(40), nullable=False),
        sa.Column('target', sa.String(120), nullable=True),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['shop_id'], ['shops.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_shop_events_shop_id', 'shop_events', ['shop_id'])


def downgrade() -> None:
    op.drop_index('ix_shop_events_shop_id', 'shop_events')
    op.drop_table('shop_events')
    with op.batch_alter_table('users') as b:
        b.drop_column('last_login_at')
        b.drop_column('active')
    with op.batch_alter_table('shops') as b:
        b.drop_column('hours')
        b.drop_column('phone')
        b.drop_column('address')
