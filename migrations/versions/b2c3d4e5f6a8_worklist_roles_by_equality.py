"""work items: candidate roles stored in one order and indexed before the due time

The worklist and its count matched the user's roles with LIKE on the candidate roles, which no index
can seek: a specialist's list read every unassigned item of no unit, the leaders' 3,375 at the full
benchmark size, to find none. The roles are now stored as the acting roles in Role.ACTING's order, so
one set is always one string, and the index has them before the due time: the worklist asks for the
sets that hold one of the user's roles by equality. Existing rows are rewritten into that order.

Revision ID: b2c3d4e5f6a8
Revises: d0e1f2a3b4c6
Create Date: 2026-11-23 19:50:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b2c3d4e5f6a8"
down_revision = "d0e1f2a3b4c6"
branch_labels = None
depends_on = None

# Role.ACTING when this revision was written (a migration does not import the app's models)
ACTING = ("specialist", "unit_head", "leader", "admin")

work_items = sa.table("work_items", sa.column("candidate_roles", sa.String))
NEW_INDEX = "ix_work_items_status_assignee_unit_roles_due"
NEW_COLUMNS = ["status", "assignee_id", "candidate_unit_id", "candidate_roles", "due_at", "id"]
OLD_INDEX = "ix_work_items_status_assignee_unit_due"
OLD_COLUMNS = ["status", "assignee_id", "candidate_unit_id", "due_at", "id", "candidate_roles"]


def _stored(text: str) -> str:
    roles = set(text.split(","))
    return "," + ",".join(role for role in ACTING if role in roles) + ","


def upgrade():
    bind = op.get_bind()
    found = bind.execute(sa.select(work_items.c.candidate_roles).distinct()).scalars().all()
    for old in found:
        if old is not None and _stored(old) != old:
            bind.execute(
                work_items.update()
                .where(work_items.c.candidate_roles == old)
                .values(candidate_roles=_stored(old))
            )
    op.create_index(NEW_INDEX, "work_items", NEW_COLUMNS, unique=False)
    op.drop_index(OLD_INDEX, table_name="work_items")


def downgrade():
    op.create_index(OLD_INDEX, "work_items", OLD_COLUMNS, unique=False)
    op.drop_index(NEW_INDEX, table_name="work_items")
