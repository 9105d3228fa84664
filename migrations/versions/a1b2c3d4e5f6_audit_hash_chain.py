"""audit hash chain (and on PostgreSQL a trigger refusing UPDATE and DELETE), audit page indexes

Adds audit_events.prev_hash and .hash (both unique: the chain cannot fork) and computes the chain of the
rows already present, in id order, with workflows.audit's canonical hash, so an upgraded database
verifies (`flask audit verify`). On PostgreSQL a trigger then refuses every UPDATE, DELETE and TRUNCATE
of audit_events (the same SQL as app/models/workflow.py's AUDIT_APPEND_ONLY_DDL).

Revision ID: a1b2c3d4e5f6
Revises: f9a0b1c2d3e4
Create Date: 2026-11-22 23:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a1b2c3d4e5f6'
down_revision = 'f9a0b1c2d3e4'
branch_labels = None
depends_on = None

BATCH = 2000
TRIGGER_SQL = (
    """CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING MESSAGE = 'audit_events is append-only: ' || TG_OP || ' refused';
END
$$""",
    """CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE ON audit_events
FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()""",
    """CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()""",
)
DROP_TRIGGER_SQL = (
    "DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events",
    "DROP TRIGGER IF EXISTS audit_events_no_update_delete ON audit_events",
    "DROP FUNCTION IF EXISTS audit_events_append_only()",
)


def _audit_table():
    return sa.table(
        'audit_events',
        sa.column('id', sa.Integer),
        sa.column('at', sa.DateTime(timezone=True)),
        sa.column('actor_id', sa.Integer),
        sa.column('actor_username', sa.String),
        sa.column('actor_name', sa.String),
        sa.column('actor_unit_code', sa.String),
        sa.column('action', sa.String),
        sa.column('task_id', sa.Integer),
        sa.column('instance_id', sa.Integer),
        sa.column('work_item_id', sa.Integer),
        sa.column('step', sa.String),
        sa.column('step_name', sa.String),
        sa.column('from_state', sa.String),
        sa.column('to_state', sa.String),
        sa.column('comment', sa.Text),
        sa.column('data', sa.JSON),
        sa.column('prev_hash', sa.String),
        sa.column('hash', sa.String),
    )


def _chain_existing_rows():
    """Hash the rows already present in id order, each chained to the one before (keyset batches)."""
    from workflows.audit import GENESIS, HASHED_FIELDS, content_hash

    bind = op.get_bind()
    table = _audit_table()
    content = [table.c[name] for name in HASHED_FIELDS if name != 'prev_hash']
    previous, after = GENESIS, 0
    while True:
        rows = bind.execute(
            sa.select(table.c.id, *content).where(table.c.id > after).order_by(table.c.id).limit(BATCH)
        ).mappings().all()
        if not rows:
            return
        updates = []
        for row in rows:
            values = {**row, 'prev_hash': previous}
            digest = content_hash(values)
            updates.append({'row_id': row['id'], 'prev': previous, 'digest': digest})
            previous = digest
        bind.execute(
            table.update()
            .where(table.c.id == sa.bindparam('row_id'))
            .values(prev_hash=sa.bindparam('prev'), hash=sa.bindparam('digest')),
            updates,
        )
        after = rows[-1]['id']


# The audit page's filters, newest first (app/services/audit_queries.py).
AUDIT_PAGE_INDEXES = (
    ('ix_audit_events_actor_id_at', ['actor_id', 'at', 'id']),
    ('ix_audit_events_actor_unit_code_at', ['actor_unit_code', 'at', 'id']),
    ('ix_audit_events_task_id_at', ['task_id', 'at', 'id']),
    ('ix_audit_events_action_at', ['action', 'at', 'id']),
)


def upgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))

    _chain_existing_rows()

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_audit_events_prev_hash'), ['prev_hash'])
        batch_op.create_unique_constraint(batch_op.f('uq_audit_events_hash'), ['hash'])
        for name, columns in AUDIT_PAGE_INDEXES:
            batch_op.create_index(name, columns, unique=False)

    if op.get_bind().dialect.name == 'postgresql':
        for statement in TRIGGER_SQL:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for statement in DROP_TRIGGER_SQL:
            op.execute(statement)

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        for name, _columns in AUDIT_PAGE_INDEXES:
            batch_op.drop_index(name)
        batch_op.drop_constraint(batch_op.f('uq_audit_events_hash'), type_='unique')
        batch_op.drop_constraint(batch_op.f('uq_audit_events_prev_hash'), type_='unique')
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
