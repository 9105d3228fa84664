"""worklist indexes: the worklist and its count read open items by branch without scanning them all

workflows/worklist.py reads each branch of a worklist ("assigned to me", "unassigned in a unit I
serve", "unassigned with no unit") as an equality lookup in an index, in due order, a page at a time:
- (status, assignee_id, due_at, id) WHERE assignee_id IS NOT NULL, for the items someone holds
  (partial, so that the unassigned branches are never read from it in due order); it replaces
  (status, assignee_id), which queries by assignee used;
- (status, assignee_id, candidate_unit_id, due_at, id, candidate_roles) for the unassigned ones of a
  unit or of none (candidate_unit_id NULL), with the candidate roles so that the role is tested inside
  the index.
On SQLite it also runs ANALYZE (sampled), so that the planner has statistics from the start.

Revision ID: d8e9f0a1b2c3
Revises: c6d7e8f9a0b1
Create Date: 2026-11-23 04:20:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d8e9f0a1b2c3"
down_revision = "c6d7e8f9a0b1"
branch_labels = None
depends_on = None

# As app/models/workflow.py's HELD_ITEMS, written out: a migration stays as it was written.
HELD_ITEMS = "assignee_id IS NOT NULL"


def upgrade():
    with op.batch_alter_table("work_items", schema=None) as batch_op:
        batch_op.drop_index("ix_work_items_open_by_assignee")
        batch_op.create_index(
            "ix_work_items_status_assignee_due",
            ["status", "assignee_id", "due_at", "id"],
            unique=False,
            sqlite_where=sa.text(HELD_ITEMS),
            postgresql_where=sa.text(HELD_ITEMS),
        )
        batch_op.create_index(
            "ix_work_items_status_assignee_unit_due",
            ["status", "assignee_id", "candidate_unit_id", "due_at", "id", "candidate_roles"],
            unique=False,
        )
    if op.get_bind().dialect.name == "sqlite":
        # Planner statistics from the start (PostgreSQL's autovacuum keeps its own); the app keeps them
        # current with PRAGMA optimize (app/sqlite_pragmas.py). A sample of each index: milliseconds.
        op.execute("PRAGMA analysis_limit=400")
        op.execute("ANALYZE")


def downgrade():
    with op.batch_alter_table("work_items", schema=None) as batch_op:
        batch_op.drop_index("ix_work_items_status_assignee_unit_due")
        batch_op.drop_index("ix_work_items_status_assignee_due")
        batch_op.create_index("ix_work_items_open_by_assignee", ["status", "assignee_id"], unique=False)
