"""clip uploads: who uploaded which clip under what file name (the audio itself is stored once, by sha256)

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('clip_uploads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clip_id', sa.Integer(), nullable=False),
    sa.Column('uploader', sa.String(), nullable=False),
    sa.Column('file_name', sa.String(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['clip_id'], ['clips.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('clip_id', 'uploader', 'file_name', name='uq_clip_uploads_clip_uploader_file'),
    )
    op.create_index('ix_clip_uploads_clip_id', 'clip_uploads', ['clip_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_clip_uploads_clip_id', table_name='clip_uploads')
    op.drop_table('clip_uploads')
