"""webhook attempts and backoff

A row per delivery attempt (when, how long, the answer); a webhook's run of failing attempts
and the time it is paused until (it backs off as a whole); the indexes a claim, the hand-over of
a webhook's next delivery and pruning look things up by.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 18:10:00.000000

"""
import sqlalchemy as sa
from alembic import op

import app.types

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('webhook_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('started_at', app.types.UTCDateTime(), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('error', sa.String(length=255), nullable=True),
    sa.Column('response_excerpt', sa.String(length=1024), nullable=True),
    sa.ForeignKeyConstraint(['delivery_id'], ['webhook_deliveries.id'], name=op.f('fk_webhook_attempts_delivery_id_webhook_deliveries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_attempts'))
    )
    with op.batch_alter_table('webhook_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_attempts_delivery_id'), ['delivery_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_attempts_started_at'), ['started_at'], unique=False)

    with op.batch_alter_table('webhooks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failing_attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('paused_until', app.types.UTCDateTime(), nullable=True))

    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_deliveries_webhook_id_status_next_attempt_at', ['webhook_id', 'status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_webhook_deliveries_created_at', ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_deliveries_created_at')
        batch_op.drop_index('ix_webhook_deliveries_webhook_id_status_next_attempt_at')

    with op.batch_alter_table('webhooks', schema=None) as batch_op:
        batch_op.drop_column('paused_until')
        batch_op.drop_column('failing_attempts')

    op.drop_table('webhook_attempts')
