"""SQLite planner statistics (app/sqlite_pragmas.py): a pooled connection runs `PRAGMA optimize` a
while after it opened, when it goes back to the pool, so that the tables its requests used get
statistics; a request before then pays nothing; a writer holding the lock makes it skip, not wait."""

from __future__ import annotations

import sqlite3
import time

import pytest

import app.sqlite_pragmas as pragmas
from app.extensions import db
from tests.conftest import ON_POSTGRES
from tests.worklist_rows import anchor_item

pytestmark = pytest.mark.skipif(ON_POSTGRES, reason="SQLite only")


def analysed_tables() -> set[str]:
    with sqlite3.connect(db.engine.url.database) as connection:
        if not connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone():
            return set()
        return {row[0] for row in connection.execute("SELECT DISTINCT tbl FROM sqlite_stat1")}


def test_a_request_on_a_new_connection_does_not_analyse(client, auth):
    anchor_item()
    auth.login("cntt.cv")
    assert client.get("/worklist").status_code == 200
    assert analysed_tables() == set()


def test_a_connection_past_its_first_minute_analyses_the_tables_it_used(client, auth, monkeypatch):
    anchor_item()  # a row in work_items: ANALYZE records nothing for an empty table
    db.session.remove()
    monkeypatch.setattr(pragmas, "OPTIMIZE_FIRST_AFTER_SECONDS", 0.0)
    auth.login("cntt.cv")
    assert client.get("/worklist").status_code == 200
    assert "work_items" in analysed_tables()


def test_optimize_skips_instead_of_waiting_for_a_writer(app):
    anchor_item()
    path = db.engine.url.database
    writer = sqlite3.connect(path, isolation_level=None)
    reader = sqlite3.connect(path, isolation_level=None)
    try:
        reader.execute(f"PRAGMA busy_timeout={pragmas.BUSY_TIMEOUT_MS}")
        reader.execute("SELECT count(*) FROM work_items WHERE status = 'open'").fetchone()
        writer.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        assert pragmas.optimize(reader) is False
        assert time.monotonic() - started < 2
        assert reader.execute("PRAGMA busy_timeout").fetchone()[0] == pragmas.BUSY_TIMEOUT_MS
        writer.execute("ROLLBACK")
        assert pragmas.optimize(reader) is True
        assert "work_items" in analysed_tables()
    finally:
        writer.close()
        reader.close()
