"""task due marks

Revision ID: b5d1e2f3a4c6
Revises: e88ea1c82625
Create Date: 2026-11-22 22:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b5d1e2f3a4c6'
down_revision = 'e88ea1c82625'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('due_status', sa.String(length=20), server_default='', nullable=False))
        batch_op.create_index(batch_op.f('ix_tasks_due_status'), ['due_status'], unique=False)


def downgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tasks_due_status'))
        batch_op.drop_column('due_status')
