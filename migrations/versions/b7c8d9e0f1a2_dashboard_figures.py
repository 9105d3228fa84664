"""dashboard figures: the department-wide counts by lead unit and state, computed by the scheduler's tick

The dashboard for every plan read one grouped count over every task on each view, which grows with the
tasks (app/services/dashboard_figures.py). The tick now computes it once a minute; the page reads it.

On SQLite it also runs a full ANALYZE (every row, not a sample). A sampled ANALYZE (analysis_limit=400,
as d8e9f0a1b2c3 ran it) sees one value of a column with few values, such as work_items.status, and
records about 400 rows per value where there are 200,000: at the full benchmark size (430,000 work
items) the planner then walked every open item to find a plan's 95 tasks' open steps (45 ms instead of
1). A full ANALYZE takes seconds at that size; app/sqlite_pragmas.py keeps the statistics full too.

Revision ID: b7c8d9e0f1a2
Revises: 1ed7dc3cdbc4
Create Date: 2026-11-23 07:30:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b7c8d9e0f1a2'
down_revision = '1ed7dc3cdbc4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'dashboard_figures',
        sa.Column('scope', sa.String(length=20), nullable=False),
        sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('local_date', sa.Date(), nullable=False),
        sa.Column('rows', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('scope', name=op.f('pk_dashboard_figures')),
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA analysis_limit=0")
        op.execute("ANALYZE")


def downgrade():
    op.drop_table('dashboard_figures')
