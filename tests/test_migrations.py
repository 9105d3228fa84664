"""Migrations build the whole schema from nothing and match the models exactly."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from app.extensions import db
from tests.conftest import make_app


@pytest.fixture
def migrated_app(tmp_path):
    application = make_app(tmp_path / "migrated.sqlite")
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
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


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
    assert db.session.query(Task).count() == 28
