"""bench/copy_to_postgres.py: a SQLite data set copied into PostgreSQL is the same data, and the app
goes on working on it (the PostgreSQL pages of the full-size benchmark are measured on such a copy).

Runs in the PostgreSQL pass only (it needs a server to copy into).
"""

from __future__ import annotations

import sys
from datetime import UTC

import pytest
from sqlalchemy import create_engine, func, select

from app.extensions import db
from app.models import AuditEvent, ProcessInstance, WorkItem, WorkItemStatus
from tests.audit_data import drive_1a, task, user
from tests.conftest import ON_POSTGRES, REPO_ROOT, make_app
from workflows.audit_verify import verify
from workflows.engine import advance

sys.path.insert(0, str(REPO_ROOT / "bench"))

from copy_to_postgres import copy_database  # noqa: E402

OPINION = {"opinion": "Thống nhất với dự thảo.", "agree": True}

pytestmark = pytest.mark.skipif(not ON_POSTGRES, reason="copies into PostgreSQL: the PostgreSQL pass")


def _source(path) -> dict:
    """A SQLite data set: the demo seed and task 1.a driven through four steps; what it holds."""
    from app.services.demo import seed_demo

    application = make_app(path)
    with application.app_context():
        db.create_all()
        seed_demo("demo-pass-123")
        db.session.commit()
        t1a = drive_1a()
        instance = db.session.scalars(select(ProcessInstance).where(ProcessInstance.task_id == t1a.id)).one()
        tables = db.metadata.sorted_tables
        held = {
            "rows": {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in tables},
            "started_at": instance.started_at.replace(tzinfo=UTC),
            "state": instance.state,
            "max_audit_id": db.session.scalar(select(func.max(AuditEvent.id))),
        }
        db.session.remove()
        db.engine.dispose()
    return held


def test_a_copy_holds_the_same_rows_and_the_processes_go_on(tmp_path, fresh_database_url):
    held = _source(tmp_path / "source.sqlite")
    assert held["rows"]["audit_events"] > 0 and held["rows"]["work_items"] > 0

    report = copy_database(tmp_path / "source.sqlite", fresh_database_url)

    assert report["rows"] == held["rows"]
    assert report["audit_chain_verified"] == held["rows"]["audit_events"]
    application = make_app(fresh_database_url)
    with application.app_context():
        t1a = task("1.a")
        instance = db.session.scalars(select(ProcessInstance).where(ProcessInstance.task_id == t1a.id)).one()
        assert instance.started_at == held["started_at"]  # SQLite's naive UTC arrives as the same instant
        assert instance.state == held["state"]
        # The process continues from the copied state (1.a waits for the Office's opinion), and new
        # rows take ids after the copied ones.
        item = db.session.scalars(
            select(WorkItem).where(WorkItem.task_id == t1a.id, WorkItem.status == WorkItemStatus.OPEN)
        ).one()
        assert item.step == "collect_opinions"
        advance(item, user("vp.cv"), OPINION, None)
        assert item.status == WorkItemStatus.COMPLETED
        newest = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert newest.id == held["max_audit_id"] + 1
        assert verify().ok
        db.session.remove()
        db.engine.dispose()


def test_a_copy_refuses_a_database_that_has_tables(tmp_path, fresh_database_url):
    _source(tmp_path / "source.sqlite")
    copy_database(tmp_path / "source.sqlite", fresh_database_url)
    engine = create_engine(fresh_database_url)
    with engine.connect() as connection:
        before = connection.scalar(select(func.count()).select_from(AuditEvent.__table__))
    with pytest.raises(SystemExit, match="not empty"):
        copy_database(tmp_path / "source.sqlite", fresh_database_url)
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(AuditEvent.__table__)) == before
    engine.dispose()
