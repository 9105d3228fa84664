"""audit events newest first by (at, id): a page of the whole trail stops after its rows

The audit list without a filter and the dashboard's latest events read the trail in (at desc, id desc)
order. On `at` alone PostgreSQL sorts every run of rows that share one instant (rows imported with
their old times; the benchmark generator's clock at its end): at a million rows with one run of 69,611, the dashboard's latest events took 97 ms and a cursor
inside the run 25 ms; on (at, id) both read only their rows (2.8 and 0.1 ms). The index replaces the
one on `at` (its prefix serves the same date ranges).

Revision ID: d0e1f2a3b4c6
Revises: a1b2c3d4e5f7
Create Date: 2026-11-23 17:30:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "d0e1f2a3b4c6"
down_revision = "a1b2c3d4e5f7"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_audit_events_at_id", "audit_events", ["at", "id"], unique=False)
    op.drop_index("ix_audit_events_at", table_name="audit_events")


def downgrade():
    op.create_index("ix_audit_events_at", "audit_events", ["at"], unique=False)
    op.drop_index("ix_audit_events_at_id", table_name="audit_events")
