"""`flask backup FILE` / `flask restore FILE`: a round trip brings back every table exactly.

On the suite's database: SQLite (online backup API) always, PostgreSQL (pg_dump/pg_restore) when
TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import MetaData, select, text

from app.extensions import db
from app.services import backup as backup_service
from tests.conftest import ON_POSTGRES, only_sqlite
from tests.engine_helpers import CONSULTED_UNITS, open_item, task, user

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")

DRAFT_DATA = {
    "consulted_units": CONSULTED_UNITS,
    "summary": "Dự thảo kế hoạch để thử sao lưu.",
    # the "5 rõ" the first step asks for while 1.a lacks them
    "assignee": "cntt.cv",
    "expected_result": "Kế hoạch được ban hành",
}


def dump_every_table() -> dict[str, list[tuple]]:
    """Every row of every table in the database (reflected, so alembic_version too), by primary key."""
    db.session.remove()
    metadata = MetaData()
    metadata.reflect(bind=db.engine)
    dump = {}
    with db.engine.connect() as connection:
        for table in metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            dump[table.name] = [tuple(row) for row in connection.execute(select(table).order_by(*order))]
    return dump


def some_workflow_activity() -> None:
    from workflows.engine import advance, start_process

    task_1a = task("1.a")
    start_process(task_1a, user("cntt.cv"))
    advance(open_item(task_1a, "draft"), user("cntt.cv"), DRAFT_DATA)


def change_everything() -> None:
    """Deletes, updates and inserts across the tables the workflow and the plan use."""
    from workflows.engine import start_process

    start_process(task("1.b"), user("cntt.cv"))
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":  # past the trigger that keeps the audit trail append-only
            connection.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        connection.execute(text("DELETE FROM audit_events"))
        connection.execute(text("UPDATE tasks SET title = 'changed', updated_at = updated_at"))
        connection.execute(text("UPDATE users SET full_name = 'changed'"))
    db.session.remove()


def invoke(runner, *args: str):
    return runner.invoke(args=list(args), catch_exceptions=False)


def test_round_trip_restores_every_table(app, runner, tmp_path):
    some_workflow_activity()
    before = dump_every_table()
    assert before["audit_events"] and before["process_instances"] and before["work_items"]

    file = tmp_path / "tien-do.backup"
    result = invoke(runner, "backup", str(file))
    assert result.exit_code == 0, result.output
    assert "Backed up to" in result.output and file.stat().st_size > 0

    change_everything()
    assert dump_every_table() != before

    result = invoke(runner, "restore", "--yes", str(file))
    assert result.exit_code == 0, result.output
    assert "Restored from" in result.output
    after = dump_every_table()
    assert after.keys() == before.keys()
    for name in before:
        assert after[name] == before[name], f"table {name} differs after the restore"

    # the restored database is a working one: the workflow goes on from where it was
    from workflows.engine import advance

    advance(open_item(task("1.a"), "review_draft"), user("cntt.tp"), {"decision": "approve"})


def test_restore_asks_before_replacing_everything(app, runner, tmp_path):
    file = tmp_path / "b.backup"
    assert invoke(runner, "backup", str(file)).exit_code == 0
    change_everything()
    before = dump_every_table()
    result = runner.invoke(args=["restore", str(file)], input="n\n")
    assert result.exit_code == 1 and "Aborted" in result.output
    assert dump_every_table() == before


def test_restore_of_a_missing_file_fails_clearly(app, runner, tmp_path):
    result = invoke(runner, "restore", "--yes", str(tmp_path / "nope.backup"))
    assert result.exit_code == 1
    assert "does not exist" in result.output


def test_restore_of_a_file_in_the_wrong_format_changes_nothing(app, runner, tmp_path):
    before = dump_every_table()
    file = tmp_path / "notes.txt"
    file.write_text("not a backup at all\n" * 10)
    result = invoke(runner, "restore", "--yes", str(file))
    assert result.exit_code == 1
    expected = "pg_dump custom-format archive" if ON_POSTGRES else "not a SQLite database"
    assert expected in result.output
    assert "Traceback" not in result.output
    assert dump_every_table() == before


def test_backup_into_a_missing_directory_fails_clearly(app, runner, tmp_path):
    result = invoke(runner, "backup", str(tmp_path / "no" / "such" / "dir" / "x.backup"))
    assert result.exit_code == 1
    assert "does not exist" in result.output


@only_sqlite
def test_restore_refuses_a_sqlite_database_of_another_application(app, runner, tmp_path):
    other = tmp_path / "other.sqlite"
    connection = sqlite3.connect(other)
    connection.execute("CREATE TABLE recipes (id INTEGER PRIMARY KEY, name TEXT)")
    connection.commit()
    connection.close()
    before = dump_every_table()
    result = invoke(runner, "restore", "--yes", str(other))
    assert result.exit_code == 1 and "not one of Tiến độ" in result.output
    assert dump_every_table() == before


@only_sqlite
def test_sqlite_backup_is_online_and_takes_only_committed_data(app, runner, tmp_path):
    """A writer in the middle of a transaction neither blocks the backup nor leaks into it."""
    live = Path(db.engine.url.database)
    before = dump_every_table()
    writer = sqlite3.connect(live, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE tasks SET title = 'uncommitted'")
        file = tmp_path / "online.backup"
        assert invoke(runner, "backup", str(file)).exit_code == 0
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    copy = sqlite3.connect(file)
    try:
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one self-contained file
        titles = {row[0] for row in copy.execute("SELECT title FROM tasks")}
    finally:
        copy.close()
    assert "uncommitted" not in titles
    assert len(titles) > 1 and len(before["tasks"]) == 28 + 9  # the plan's tasks and its reporting tasks


def test_missing_postgresql_tools_are_reported(app, tmp_path, monkeypatch):
    monkeypatch.delenv("PG_BINDIR", raising=False)
    monkeypatch.setattr(backup_service, "PG_BIN_ROOT", tmp_path)
    expected = r"pg_dump for PostgreSQL 15 not found.*postgresql-client-15"
    with pytest.raises(backup_service.BackupError, match=expected):
        backup_service._pg_tool("pg_dump", 15)


def test_postgresql_credentials_go_through_the_environment():
    from sqlalchemy.engine import make_url

    url = make_url("postgresql+psycopg://alice:p%40ss@db.example:6543/tien_do?sslmode=require")
    environment = backup_service._pg_environment(url)
    assert environment["PGPASSWORD"] == "p@ss"
    assert environment["PGHOST"] == "db.example" and environment["PGPORT"] == "6543"
    assert environment["PGUSER"] == "alice"
    assert (environment["PGDATABASE"], environment["PGSSLMODE"]) == ("tien_do", "require")
