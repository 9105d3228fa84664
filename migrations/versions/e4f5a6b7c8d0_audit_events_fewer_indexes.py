"""audit events: drop the indexes that only repeat another index's first column, and the one on `hash`

Every audit row is written into every index of the table, and at a province's scale (a million rows)
that write is what grew in a step: 0.25 ms at the demo size, 0.49 ms at the full size on PostgreSQL,
with eleven indexes. Four of them are never needed:
- `actor_id`, `action` and `task_id` alone: each is the first column of the (…, at, id) index the audit
  filters read, which serves every lookup the single column did (0 scans of the first two on the full
  copy);
- the unique constraint on `hash`: no statement looks a row up by its hash, and it does not keep the
  chain from forking, which the unique `prev_hash` does (a second row after one predecessor is
  refused). Two rows with one hash would need one prev_hash or a SHA-256 collision; `flask audit
  verify` recomputes every hash. It was the largest of them (115 MB at the full size, written at a
  random place for each row).

Revision ID: e4f5a6b7c8d0
Revises: b2c3d4e5f6a8
Create Date: 2026-11-23 20:20:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "e4f5a6b7c8d0"
down_revision = "b2c3d4e5f6a8"
branch_labels = None
depends_on = None

SINGLE_COLUMN = ("actor_id", "action", "task_id")


def upgrade():
    for column in SINGLE_COLUMN:
        op.drop_index(f"ix_audit_events_{column}", table_name="audit_events")
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.drop_constraint("uq_audit_events_hash", type_="unique")


def downgrade():
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.create_unique_constraint("uq_audit_events_hash", ["hash"])
    for column in SINGLE_COLUMN:
        op.create_index(f"ix_audit_events_{column}", "audit_events", [column], unique=False)
