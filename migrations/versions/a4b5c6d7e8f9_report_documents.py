"""report documents

Revision ID: a4b5c6d7e8f9
Revises: f2a3b4c5d6e7
Create Date: 2026-11-23 02:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a4b5c6d7e8f9'
down_revision = 'f2a3b4c5d6e7'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('report_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('parent_body', sa.String(length=300), nullable=False),
    sa.Column('issuing_body', sa.String(length=300), nullable=False),
    sa.Column('number_symbol', sa.String(length=100), nullable=False),
    sa.Column('place', sa.String(length=100), nullable=False),
    sa.Column('doc_date', sa.Date(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('signer_title', sa.String(length=200), nullable=False),
    sa.Column('signer_name', sa.String(length=200), nullable=False),
    sa.Column('recipients', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('edited_by_id', sa.Integer(), nullable=True),
    sa.Column('edited_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['edited_by_id'], ['users.id'], name=op.f('fk_report_documents_edited_by_id_users')),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'], name=op.f('fk_report_documents_instance_id_process_instances')),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_report_documents_task_id_tasks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_report_documents_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_documents')),
    sa.UniqueConstraint('task_id', 'period', 'kind', name=op.f('uq_report_documents_task_id_period_kind'))
    )
    with op.batch_alter_table('report_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_documents_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_documents_task_id'), ['task_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_documents_unit_id'), ['unit_id'], unique=False)


def downgrade():
    with op.batch_alter_table('report_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_documents_unit_id'))
        batch_op.drop_index(batch_op.f('ix_report_documents_task_id'))
        batch_op.drop_index(batch_op.f('ix_report_documents_instance_id'))

    op.drop_table('report_documents')
