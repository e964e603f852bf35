"""result settings and scoring language, run owner and heartbeat

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

RESULT_COLUMNS = (
    ('beam_size', sa.Integer()), ('threads', sa.Integer()), ('language_probability', sa.Float()),
    ('score_language', sa.String()), ('headline_metric', sa.String()), ('queue_s', sa.Float()),
)
RUN_COLUMNS = (('owner_host', sa.String()), ('owner_pid', sa.Integer()), ('heartbeat_at', sa.DateTime()))


def upgrade() -> None:
    with op.batch_alter_table('results', schema=None) as batch_op:
        for name, type_ in RESULT_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
    with op.batch_alter_table('runs', schema=None) as batch_op:
        for name, type_ in RUN_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('runs', schema=None) as batch_op:
        for name, _ in reversed(RUN_COLUMNS):
            batch_op.drop_column(name)
    with op.batch_alter_table('results', schema=None) as batch_op:
        for name, _ in reversed(RESULT_COLUMNS):
            batch_op.drop_column(name)
