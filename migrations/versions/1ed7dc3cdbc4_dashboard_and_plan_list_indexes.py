"""dashboard and plan list indexes: counts by unit and state, lists by deadline, plans newest first

The dashboard (app/services/dashboard.py, dashboard_lists.py) counts the tasks by lead unit and state
from one index alone, and lists the most urgent tasks by walking one state's deadlines in order (for all
plans, a unit, or a plan); tasks the scheduler marked overdue are found by their mark. The plan list
(app/services/plan_list.py) pages through the plans newest first.

Revision ID: 1ed7dc3cdbc4
Revises: d8e9f0a1b2c3
Create Date: 2026-11-23 05:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '1ed7dc3cdbc4'
down_revision = 'd8e9f0a1b2c3'
branch_labels = None
depends_on = None

TASK_INDEXES = {
    'ix_tasks_kind_unit_state': ['kind', 'lead_unit_id', 'state', 'due_date', 'id', 'due_status', 'progress'],
    'ix_tasks_kind_state_due': ['kind', 'state', 'due_date'],
    'ix_tasks_plan_kind_state': ['plan_id', 'kind', 'state', 'due_date'],
    'ix_tasks_due_status_due': ['due_status', 'kind', 'state', 'due_date'],
}


def upgrade():
    for name, columns in TASK_INDEXES.items():
        op.create_index(name, 'tasks', columns, unique=False)
    op.create_index('ix_plans_issued_on_id', 'plans', ['issued_on', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_plans_issued_on_id', table_name='plans')
    for name in reversed(TASK_INDEXES):
        op.drop_index(name, table_name='tasks')
