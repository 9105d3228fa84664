"""Reads that must stay index lookups at a province's scale, checked on the database's own plan.

- The step page reads its process instance's audit rows through the index made for them. Without it,
  SQLite and PostgreSQL read every audit row of the actions asked for (a million rows at a province's
  scale: 628 ms per step page on bench/page_cost.py's full data set, 17.6 ms with it). The plan is
  SQLite's own (EXPLAIN QUERY PLAN), which, unlike PostgreSQL's on a test database of a few rows, does
  not depend on the table's size.
- The trail newest first (the dashboard's latest events, the audit list and its next and previous
  pages) comes from an index in (at, id) order on PostgreSQL. On `at` alone PostgreSQL sorted each run
  of rows sharing an instant: 97 ms for the dashboard's 20 events at the full size, whose trail has a
  run of 69,611. On a test database PostgreSQL would rather sort a few rows than read an index, so the
  check tells it to avoid sorts and sequential scans and looks at whether it still has to sort.
  (SQLite's index on `at` holds the rowid, the id, after it: it never had to sort.)
- The worklist and the menu's count find the unassigned items by their set of candidate roles, sought
  in the index: a specialist's never read the leaders' queue (3,375 items at the full size, which the
  LIKE on the roles read for everyone).
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import event, insert

from app.extensions import db
from app.models import WorkItem
from tests.audit_data import bulk_rows
from tests.query_count_data import actor_for, drive, open_steps, return_and_redo
from tests.worklist_rows import anchor_item, user
from workflows.worklist import worklist_count, worklist_page

INSTANCE_INDEX = "ix_audit_events_instance_id_at"
NEWEST_FIRST_INDEX = "ix_audit_events_at_id"
OFFERED_INDEX = "ix_work_items_status_assignee_unit_roles_due"


class Statements:
    """The SQL statements (with their parameters) run while the block runs."""

    def __enter__(self):
        self.seen = []
        event.listen(db.engine, "before_cursor_execute", self._capture)
        return self

    def _capture(self, conn, cursor, statement, parameters, context, executemany):
        self.seen.append((statement, parameters))

    def __exit__(self, *exc):
        event.remove(db.engine, "before_cursor_execute", self._capture)


def test_the_step_page_reads_the_instances_audit_rows_by_the_instance_index(app, client, auth):
    if db.engine.url.get_backend_name() != "sqlite":
        pytest.skip("the plan is read with SQLite's EXPLAIN QUERY PLAN")
    task = drive("1.a", "review_draft")
    return_and_redo(task, 1)  # a returned draft: the page shows what was entered before
    (review,) = open_steps(task, "review_draft")
    auth.login(actor_for(review).username)
    with Statements() as captured:
        response = client.get(f"/steps/{review.id}")
    assert response.status_code == 200
    seen = captured.seen
    reads = [(s, p) for s, p in seen if "FROM audit_events" in s and "audit_events.instance_id =" in s]
    assert len(reads) >= 2, [s for s, _ in seen]  # what earlier steps entered; this step's last entry
    for statement, parameters in reads:
        plan = db.session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
        audit_lines = [row[-1] for row in plan if "audit_events" in row[-1]]
        assert audit_lines and all(INSTANCE_INDEX in line for line in audit_lines), (statement, plan)


def _plan_nodes(node: dict):
    yield node
    for child in node.get("Plans", []):
        yield from _plan_nodes(child)


def _postgres_plan_avoiding_sorts(statement: str, parameters) -> list[dict]:
    connection = db.session.connection()
    for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort", "enable_incremental_sort"):
        connection.exec_driver_sql(f"SET LOCAL {setting} = off")
    (plan,) = connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", parameters).scalar()
    return list(_plan_nodes(plan["Plan"] if isinstance(plan, dict) else json.loads(plan)[0]["Plan"]))


def test_the_trail_newest_first_is_read_in_index_order_without_a_sort(app, client, auth, api_token):
    if db.engine.url.get_backend_name() != "postgresql":
        pytest.skip("PostgreSQL's plan; SQLite's index on `at` is in (at, id) order already")
    drive("1.a", "review_draft")
    bulk_rows(60)  # more than a page of the audit list, three rows at each instant
    headers = {"Authorization": f"Bearer {api_token('giamsat')}"}
    cursor = client.get("/api/v1/audit", headers=headers).get_json()["next_cursor"]
    second = client.get(f"/api/v1/audit?cursor={cursor}", headers=headers).get_json()
    auth.login("giamsat")
    with Statements() as captured:
        assert client.get("/dashboard").status_code == 200
        assert client.get(f"/api/v1/audit?cursor={cursor}", headers=headers).status_code == 200
        before = second["previous_cursor"]
        assert client.get(f"/api/v1/audit?before={before}", headers=headers).status_code == 200
    in_time_order = [
        (s, p) for s, p in captured.seen if "FROM audit_events" in s and "ORDER BY audit_events.at" in s
    ]
    # the latest events; the next page; the page before (read oldest first)
    assert len(in_time_order) == 3, [s for s, _ in captured.seen]
    for statement, parameters in in_time_order:
        nodes = _postgres_plan_avoiding_sorts(statement, parameters)
        assert not [n for n in nodes if "Sort" in n["Node Type"]], (statement, nodes)
        audit_scans = [n for n in nodes if n.get("Relation Name") == "audit_events"]
        assert [n.get("Index Name") for n in audit_scans] == [NEWEST_FIRST_INDEX], (statement, nodes)
        if "audit_events.id <" in statement or "audit_events.id) <" in statement:  # the next page
            # the cursor is sought in the index, not filtered out of the rows of its instant
            assert "ROW(at, id) <" in audit_scans[0]["Index Cond"], audit_scans[0]
        if "audit_events.id) >" in statement:  # the page before
            assert "ROW(at, id) >" in audit_scans[0]["Index Cond"], audit_scans[0]


def test_a_specialists_worklist_seeks_its_roles_and_skips_the_leaders_queue(app):
    anchor = anchor_item()  # cntt.cv's draft
    # a leaders' queue long enough that PostgreSQL plans as it does at a province's scale (on a few rows
    # it reads them all through the (status, unit) index and filters them)
    copied = ("instance_id", "task_id", "step", "name", "lane", "form_key", "status", "created_at")
    leader_item = {column: getattr(anchor, column) for column in copied}
    leader_item.update(candidate_unit_id=None, candidate_roles=",leader,", assignee_id=None)
    db.session.execute(insert(WorkItem), [dict(leader_item, spiff_task_id=f"q{n}") for n in range(3000)])
    db.session.commit()
    if db.engine.url.get_backend_name() == "postgresql":
        db.session.connection().exec_driver_sql("ANALYZE work_items")
    specialist = user("cntt.cv")
    with Statements() as captured:
        assert worklist_count(specialist) == 1
        assert [item.id for item in worklist_page(specialist, 20).items] == [anchor.id]
    reads = [(s, p) for s, p in captured.seen if "FROM work_items" in s]
    assert len(reads) == 3, [s for s, _ in captured.seen]  # the count; the waiting roles; the page
    connection = db.session.connection()
    if db.engine.url.get_backend_name() == "sqlite":
        for statement, parameters in reads:
            plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            lines = [row[-1] for row in plan if OFFERED_INDEX in row[-1]]
            assert lines, (statement, plan)
            assert all("candidate_roles=" in line for line in lines), (statement, plan)
        return
    no_unit_scans = [
        node
        for statement, parameters in reads
        for node in _postgres_plan_avoiding_sorts(statement, parameters)
        if "candidate_unit_id IS NULL" in node.get("Index Cond", "")
    ]
    assert no_unit_scans, reads
    for node in no_unit_scans:
        assert node["Index Name"] == OFFERED_INDEX and "candidate_roles" in node["Index Cond"], node
