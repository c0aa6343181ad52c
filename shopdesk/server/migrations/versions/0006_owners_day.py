"""the owner's day: what the counter read from CUPS on confirm (reconciliation), and signed webhooks
with their stored deliveries (an outbox the server's sender works through)

Revision ID: 0006
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('files') as b:
        b.add_column(sa.Column('impressions', sa.Integer(), nullable=True))
        b.add_column(sa.Column('sheets', sa.Integer(), nullable=True))
    op.create_table(
        'webhooks',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('shop_id', sa.Integer(), sa.ForeignKey('shops.id'), nullable=False, index=True),
        sa.Column('url', sa.String(500), nullable=False),
        sa.Column('events', sa.String(300), nullable=False),
        sa.Column('salt', sa.String(64), nullable=False),
        sa.Column('created_by', sa.String(80), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
    )
    op.create_table(
        'webhook_deliveries',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('webhook_id', sa.Integer(), sa.ForeignKey('webhooks.id', ondelete='CASCADE'), nullable=False),
        sa.Column('shop_id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.String(40), nullable=False, unique=True),
        sa.Column('type', sa.String(32), nullable=False),
        sa.Column('subject', sa.String(40), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('status', sa.String(16), nullable=False, server_default='pending'),
        sa.Column('last_status_code', sa.Integer(), nullable=True),
        sa.Column('last_error', sa.String(300), nullable=True),
        sa.Column('last_attempt_at', sa.DateTime(), nullable=True),
        sa.Column('delivered_at', sa.DateTime(), nullable=True),
        sa.Column('lease_until', sa.DateTime(), nullable=True),
        sa.Column('lease_owner', sa.String(40), nullable=True),
    )
    op.create_index('ix_webhook_deliveries_due', 'webhook_deliveries', ['status', 'next_attempt_at'])
    op.create_index('ix_webhook_deliveries_hook', 'webhook_deliveries', ['webhook_id', 'id'])


def downgrade() -> None:
    op.drop_table('webhook_deliveries')
    op.drop_table('webhooks')
    with op.batch_alter_table('files') as b:
        b.drop_column('sheets')
        b.drop_column('impressions')
