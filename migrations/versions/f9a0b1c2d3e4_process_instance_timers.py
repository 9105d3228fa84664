"""process instance timers: when the earliest BPMN timer is due; task kinds (plan | report)

Also adds tasks.kind: 'plan' for the plan's own tasks (every existing row), 'report' for the
reporting tasks of the plan's monthly reporting cycle (app/services/reporting.py); indexed.

Revision ID: f9a0b1c2d3e4
Revises: d7e8f9a0b1c2
Create Date: 2026-11-22 22:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f9a0b1c2d3e4'
down_revision = 'd7e8f9a0b1c2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('process_instances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_timer_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_process_instances_next_timer_at'), ['next_timer_at'], unique=False)

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=10), server_default='plan', nullable=False))
        batch_op.create_index(batch_op.f('ix_tasks_kind'), ['kind'], unique=False)


def downgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tasks_kind'))
        batch_op.drop_column('kind')

    with op.batch_alter_table('process_instances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_process_instances_next_timer_at'))
        batch_op.drop_column('next_timer_at')
