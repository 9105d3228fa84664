"""plan import budgets: budgets are never negative; who imported a plan from a workbook

- tasks: CHECK ck_tasks_budget_not_negative (budget_million_vnd, in million VND, is NULL or >= 0);
  the XLSX and YAML imports refuse negative budgets before writing, the database makes sure.
- plans.imported_by_id: the user who imported the plan from an .xlsx workbook (NULL for the YAML
  import and for plans imported before).

Revision ID: b5c6d7e8f9a0
Revises: a4b5c6d7e8f9
Create Date: 2026-11-23 02:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b5c6d7e8f9a0"
down_revision = "a4b5c6d7e8f9"
branch_labels = None
depends_on = None

BUDGET_CHECK = "budget_million_vnd IS NULL OR budget_million_vnd >= 0"


def upgrade():
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("imported_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_plans_imported_by_id_users"), "users", ["imported_by_id"], ["id"]
        )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_check_constraint(op.f("ck_tasks_budget_not_negative"), BUDGET_CHECK)


def downgrade():
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_tasks_budget_not_negative"), type_="check")
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_plans_imported_by_id_users"), type_="foreignkey")
        batch_op.drop_column("imported_by_id")
