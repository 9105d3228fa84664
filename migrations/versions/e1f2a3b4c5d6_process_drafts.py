"""process drafts (the modeler's unsaved work)

Revision ID: e1f2a3b4c5d6
Revises: c3d4e5f6a7b8
Create Date: 2026-11-23 01:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e1f2a3b4c5d6'
down_revision = 'c3d4e5f6a7b8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('process_drafts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('xml', sa.Text(), nullable=False),
    sa.Column('forms', sa.JSON(), nullable=False),
    sa.Column('based_on_version', sa.Integer(), nullable=True),
    sa.Column('problems', sa.JSON(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_process_drafts_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_process_drafts'))
    )
    with op.batch_alter_table('process_drafts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_process_drafts_key'), ['key'], unique=False)


def downgrade():
    with op.batch_alter_table('process_drafts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_process_drafts_key'))

    op.drop_table('process_drafts')
