"""Migrations build the whole schema from nothing and match the models exactly.

On the suite's database: SQLite, or PostgreSQL when TEST_DATABASE_URL is set.
"""

from contextlib import contextmanager

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from app.extensions import db
from tests.conftest import make_app


@pytest.fixture
def migrated_app(fresh_database_url):
    application = make_app(fresh_database_url)
    with application.app_context():
        upgrade()
        yield application
        db.session.remove()
        db.engine.dispose()


def test_upgrade_from_empty_creates_every_model_table(migrated_app):
    tables = set(inspect(db.engine).get_table_names())
    assert set(db.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_models_have_no_pending_migration(migrated_app):
    assert schema_differences() == []


def current_revisions() -> tuple[str, ...]:
    with db.engine.connect() as connection:
        return tuple(MigrationContext.configure(connection).get_current_heads())


def schema_differences() -> list:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_downgrade_one_step_and_upgrade_again(migrated_app):
    from flask import current_app

    script = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
    head = script.get_current_head()
    previous = script.get_revision(head).down_revision
    assert isinstance(previous, str), "the head revision has one parent"
    tables_at_head = set(inspect(db.engine).get_table_names())

    downgrade(revision="-1")
    assert current_revisions() == (previous,)
    assert schema_differences() != [], "the downgrade changed nothing"

    upgrade()
    assert current_revisions() == (head,)
    assert set(inspect(db.engine).get_table_names()) == tables_at_head
    assert schema_differences() == []


def test_downgrade_to_base_and_upgrade_again(migrated_app):
    downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade()
    assert set(db.metadata.tables) <= set(inspect(db.engine).get_table_names())


def test_demo_seed_runs_on_the_migrated_schema(migrated_app):
    from app.models import Task
    from app.services.demo import seed_demo

    seed_demo("pw-for-migration-test")
    db.session.commit()
    assert db.session.query(Task).filter(Task.kind == "plan").count() == 28
    assert db.session.query(Task).filter(Task.kind == "report").count() == 9  # the reporting cycle


@contextmanager
def demo_with_a_step_at(database_url: str, revision: str):
    """The schema at `revision` with the demo seeded and cntt.cv's draft of task 1.a started (its work
    item and audit rows); yields that work item, in the app's context."""
    from app.services.demo import seed_demo
    from tests.worklist_rows import anchor_item

    application = make_app(database_url)
    with application.app_context():
        try:
            upgrade(revision=revision)
            seed_demo("pw-for-migration-test")
            db.session.commit()
            anchor = anchor_item()
            db.session.commit()
            yield anchor
        finally:
            db.session.remove()
            db.engine.dispose()


def test_upgrade_rewrites_candidate_roles_into_one_order(fresh_database_url):
    """Rows written before b2c3d4e5f6a8 kept a step's roles as the diagram listed them; the worklist now
    finds a set of roles by equality, so the upgrade rewrites them into Role.ACTING's order (dropping
    roles that never act) and the people of those roles see the items."""
    from sqlalchemy import select, text

    from app.models import User, WorkItem
    from tests.worklist_rows import add_item
    from workflows.worklist import worklist_count, worklist_for

    with demo_with_a_step_at(fresh_database_url, "d0e1f2a3b4c6") as anchor:
        extra = add_item(anchor, unit=None, roles=["specialist"])
        db.session.commit()
        old_order, with_supervisor = anchor.id, extra.id
        written_before = {old_order: ",leader,unit_head,", with_supervisor: ",supervisor,specialist,"}
        for item_id, stored in written_before.items():
            db.session.execute(
                text(
                    "UPDATE work_items SET candidate_roles = :roles, assignee_id = NULL, "
                    "candidate_unit_id = NULL WHERE id = :id"
                ),
                {"roles": stored, "id": item_id},
            )
        db.session.commit()

        upgrade()
        db.session.expire_all()
        stored = dict(db.session.execute(select(WorkItem.id, WorkItem.candidate_roles)).all())
        assert stored[old_order] == ",unit_head,leader,"
        assert stored[with_supervisor] == ",specialist,"
        leader = db.session.scalars(select(User).where(User.username == "giamdoc")).one()
        assert old_order in [item.id for item in worklist_for(leader)]
        assert worklist_count(leader) == len(worklist_for(leader))
        specialist = db.session.scalars(select(User).where(User.username == "vp.cv")).one()
        assert with_supervisor in [item.id for item in worklist_for(specialist)]


def test_upgrade_drops_the_audit_indexes_others_cover_and_keeps_the_rows_and_chain(fresh_database_url):
    """e4f5a6b7c8d0 drops the single-column audit indexes and the unique index on `hash` (on SQLite by
    rebuilding the table): the rows and their chain come through, and `prev_hash` stays unique."""
    from sqlalchemy import select

    from app.models import AuditEvent
    from workflows.audit_verify import verify

    def chain() -> list:
        return db.session.execute(select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id)).all()

    def single_column_indexes() -> list[str]:
        inspector = inspect(db.engine)
        indexes = inspector.get_indexes("audit_events") + inspector.get_unique_constraints("audit_events")
        return sorted({index["column_names"][0] for index in indexes if len(index["column_names"]) == 1})

    with demo_with_a_step_at(fresh_database_url, "b2c3d4e5f6a8"):  # the step's start: audit rows
        before = chain()
        assert len(before) >= 2
        assert single_column_indexes() == ["action", "actor_id", "hash", "prev_hash", "task_id"]
        db.session.commit()  # the migration's ALTERs wait for this session's reads to end

        upgrade()
        assert chain() == before
        assert verify().ok
        assert single_column_indexes() == ["prev_hash"]
