"""commune plans: plan frameworks of the department and the plans communes build from them

Revision ID: c6d7e8f9a0b1
Revises: b5c6d7e8f9a0
Create Date: 2026-11-23 02:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c6d7e8f9a0b1'
down_revision = 'b5c6d7e8f9a0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('plan_frameworks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issuer_unit_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('introduction', sa.Text(), nullable=True),
    sa.Column('submission_due', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_plan_frameworks_created_by_id_users')),
    sa.ForeignKeyConstraint(['issuer_unit_id'], ['units.id'], name=op.f('fk_plan_frameworks_issuer_unit_id_units')),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_plan_frameworks_plan_id_plans')),
    sa.ForeignKeyConstraint(['published_by_id'], ['users.id'], name=op.f('fk_plan_frameworks_published_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_frameworks')),
    sa.UniqueConstraint('plan_id', name=op.f('uq_plan_frameworks_plan_id'))
    )
    with op.batch_alter_table('plan_frameworks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_frameworks_issuer_unit_id'), ['issuer_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_plan_frameworks_status'), ['status'], unique=False)

    op.create_table('plan_framework_indicators',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('framework_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('unit_of_measure', sa.String(length=100), nullable=False),
    sa.Column('target', sa.Numeric(precision=16, scale=3), nullable=False),
    sa.ForeignKeyConstraint(['framework_id'], ['plan_frameworks.id'], name=op.f('fk_plan_framework_indicators_framework_id_plan_frameworks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_framework_indicators'))
    )
    with op.batch_alter_table('plan_framework_indicators', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_framework_indicators_framework_id'), ['framework_id'], unique=False)

    op.create_table('plan_framework_sections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('framework_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('heading', sa.Text(), nullable=False),
    sa.Column('required_content', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['framework_id'], ['plan_frameworks.id'], name=op.f('fk_plan_framework_sections_framework_id_plan_frameworks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_framework_sections'))
    )
    with op.batch_alter_table('plan_framework_sections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_framework_sections_framework_id'), ['framework_id'], unique=False)

    op.create_table('plan_framework_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('framework_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('lead_office', sa.String(length=300), nullable=True),
    sa.Column('coordinating_offices', sa.JSON(), nullable=False),
    sa.Column('expected_result', sa.Text(), nullable=True),
    sa.Column('budget_million_vnd', sa.Numeric(precision=16, scale=3), nullable=True),
    sa.Column('completion_time', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['framework_id'], ['plan_frameworks.id'], name=op.f('fk_plan_framework_tasks_framework_id_plan_frameworks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_framework_tasks'))
    )
    with op.batch_alter_table('plan_framework_tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_framework_tasks_framework_id'), ['framework_id'], unique=False)

    op.create_table('commune_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('framework_id', sa.Integer(), nullable=False),
    sa.Column('commune_unit_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['commune_unit_id'], ['units.id'], name=op.f('fk_commune_plans_commune_unit_id_units')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_commune_plans_created_by_id_users')),
    sa.ForeignKeyConstraint(['framework_id'], ['plan_frameworks.id'], name=op.f('fk_commune_plans_framework_id_plan_frameworks')),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_commune_plans_task_id_tasks')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_commune_plans_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commune_plans')),
    sa.UniqueConstraint('framework_id', 'commune_unit_id', name=op.f('uq_commune_plans_framework_id_commune_unit_id')),
    sa.UniqueConstraint('task_id', name=op.f('uq_commune_plans_task_id'))
    )
    with op.batch_alter_table('commune_plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commune_plans_commune_unit_id'), ['commune_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_commune_plans_framework_id'), ['framework_id'], unique=False)

    op.create_table('commune_plan_sections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('commune_plan_id', sa.Integer(), nullable=False),
    sa.Column('framework_section_id', sa.Integer(), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['commune_plan_id'], ['commune_plans.id'], name=op.f('fk_commune_plan_sections_commune_plan_id_commune_plans'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['framework_section_id'], ['plan_framework_sections.id'], name=op.f('fk_commune_plan_sections_framework_section_id_plan_framework_sections')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commune_plan_sections')),
    sa.UniqueConstraint('commune_plan_id', 'framework_section_id', name=op.f('uq_commune_plan_sections_commune_plan_id_framework_section_id'))
    )
    with op.batch_alter_table('commune_plan_sections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commune_plan_sections_commune_plan_id'), ['commune_plan_id'], unique=False)

    op.create_table('commune_plan_targets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('commune_plan_id', sa.Integer(), nullable=False),
    sa.Column('framework_indicator_id', sa.Integer(), nullable=False),
    sa.Column('target', sa.Numeric(precision=16, scale=3), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['commune_plan_id'], ['commune_plans.id'], name=op.f('fk_commune_plan_targets_commune_plan_id_commune_plans'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['framework_indicator_id'], ['plan_framework_indicators.id'], name=op.f('fk_commune_plan_targets_framework_indicator_id_plan_framework_indicators')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commune_plan_targets')),
    sa.UniqueConstraint('commune_plan_id', 'framework_indicator_id', name=op.f('uq_commune_plan_targets_commune_plan_id_framework_indicator_id'))
    )
    with op.batch_alter_table('commune_plan_targets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commune_plan_targets_commune_plan_id'), ['commune_plan_id'], unique=False)

    op.create_table('commune_plan_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('commune_plan_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('framework_task_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('lead_office_id', sa.Integer(), nullable=True),
    sa.Column('coordinating_offices', sa.JSON(), nullable=False),
    sa.Column('expected_result', sa.Text(), nullable=True),
    sa.Column('budget_million_vnd', sa.Numeric(precision=16, scale=3), nullable=True),
    sa.Column('completion_time', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['commune_plan_id'], ['commune_plans.id'], name=op.f('fk_commune_plan_tasks_commune_plan_id_commune_plans'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['framework_task_id'], ['plan_framework_tasks.id'], name=op.f('fk_commune_plan_tasks_framework_task_id_plan_framework_tasks')),
    sa.ForeignKeyConstraint(['lead_office_id'], ['units.id'], name=op.f('fk_commune_plan_tasks_lead_office_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commune_plan_tasks'))
    )
    with op.batch_alter_table('commune_plan_tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commune_plan_tasks_commune_plan_id'), ['commune_plan_id'], unique=False)


def downgrade():
    with op.batch_alter_table('commune_plan_tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commune_plan_tasks_commune_plan_id'))

    op.drop_table('commune_plan_tasks')
    with op.batch_alter_table('commune_plan_targets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commune_plan_targets_commune_plan_id'))

    op.drop_table('commune_plan_targets')
    with op.batch_alter_table('commune_plan_sections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commune_plan_sections_commune_plan_id'))

    op.drop_table('commune_plan_sections')
    with op.batch_alter_table('commune_plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commune_plans_framework_id'))
        batch_op.drop_index(batch_op.f('ix_commune_plans_commune_unit_id'))

    op.drop_table('commune_plans')
    with op.batch_alter_table('plan_framework_tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_framework_tasks_framework_id'))

    op.drop_table('plan_framework_tasks')
    with op.batch_alter_table('plan_framework_sections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_framework_sections_framework_id'))

    op.drop_table('plan_framework_sections')
    with op.batch_alter_table('plan_framework_indicators', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_framework_indicators_framework_id'))

    op.drop_table('plan_framework_indicators')
    with op.batch_alter_table('plan_frameworks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_frameworks_status'))
        batch_op.drop_index(batch_op.f('ix_plan_frameworks_issuer_unit_id'))

    op.drop_table('plan_frameworks')
