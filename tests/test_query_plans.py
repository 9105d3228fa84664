"""The step page reads its process instance's audit rows through the index made for them.

Without it, SQLite and PostgreSQL read every audit row of the actions asked for (a million rows at a
province's scale: 628 ms per step page on bench/page_cost.py's full data set, 17.6 ms with it). The plan
is SQLite's own (EXPLAIN QUERY PLAN), which, unlike PostgreSQL's on a test database of a few rows, does
not depend on the table's size.
"""

from __future__ import annotations

import pytest
from sqlalchemy import event

from app.extensions import db
from tests.query_count_data import actor_for, drive, open_steps, return_and_redo

INSTANCE_INDEX = "ix_audit_events_instance_id_at"


def test_the_step_page_reads_the_instances_audit_rows_by_the_instance_index(app, client, auth):
    if db.engine.url.get_backend_name() != "sqlite":
        pytest.skip("the plan is read with SQLite's EXPLAIN QUERY PLAN")
    task = drive("1.a", "review_draft")
    return_and_redo(task, 1)  # a returned draft: the page shows what was entered before
    (review,) = open_steps(task, "review_draft")
    auth.login(actor_for(review).username)
    statements = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        response = client.get(f"/steps/{review.id}")
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    assert response.status_code == 200
    reads = [(s, p) for s, p in statements if "FROM audit_events" in s and "audit_events.instance_id =" in s]
    assert len(reads) >= 2, [s for s, _ in statements]  # what earlier steps entered; this step's last entry
    for statement, parameters in reads:
        plan = db.session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
        audit_lines = [row[-1] for row in plan if "audit_events" in row[-1]]
        assert audit_lines and all(INSTANCE_INDEX in line for line in audit_lines), (statement, plan)
