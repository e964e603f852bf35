"""api keys (hashes only) and the request log /stats reads

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'api_keys',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('name', sa.String(), nullable=False),
        sa.Column('prefix', sa.String(), nullable=False),
        sa.Column('key_hash', sa.String(), nullable=False),
        sa.Column('admin', sa.Boolean(), nullable=False),
        sa.Column('experimental', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
    )
    op.create_index('ix_api_keys_key_hash', 'api_keys', ['key_hash'], unique=True)
    op.create_index('ix_api_keys_name', 'api_keys', ['name'])
    op.create_table(
        'request_log',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('key_id', sa.Integer(), nullable=True),
        sa.Column('method', sa.String(), nullable=False),
        sa.Column('endpoint', sa.String(), nullable=False),
        sa.Column('model_id', sa.String(), nullable=True),
        sa.Column('status', sa.Integer(), nullable=False),
        sa.Column('latency_s', sa.Float(), nullable=False),
        sa.Column('queue_s', sa.Float(), nullable=True),
    )
    op.create_index('ix_request_log_at', 'request_log', ['at'])


def downgrade() -> None:
    op.drop_index('ix_request_log_at', table_name='request_log')
    op.drop_table('request_log')
    op.drop_index('ix_api_keys_name', table_name='api_keys')
    op.drop_index('ix_api_keys_key_hash', table_name='api_keys')
    op.drop_table('api_keys')
