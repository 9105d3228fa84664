"""Rows read as plain columns and made the session's objects (workflows/row_reads.py) behave like rows
the ORM loaded: the same object for the same row, changes flushed, expiry reloads, relationships load,
left-out columns load instead of reading as None. Used by the work item and token-holder reads."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import DBAPIError

from app.extensions import db
from app.models import (
    ApiToken,
    AuditEvent,
    ProcessDefinition,
    TaskCoordination,
    Unit,
    User,
    UserRole,
    WorkItem,
)
from app.services.api_tokens import issue_token, user_for_token
from app.services.clock import utcnow
from tests.engine_helpers import open_item, task, unit, user
from workflows.engine import start_process
from workflows.row_writes import insert_new
from workflows.worklist import load_work_item


@pytest.fixture
def draft_item_id(app):
    with app.app_context():
        t1a = task("1.a")
        t1a.assignee = user("cntt.cv")
        start_process(t1a, user("cntt.cv"))
        item_id = open_item(t1a, "draft").id
        db.session.remove()
    return item_id


def test_a_work_item_comes_with_its_context_as_the_database_has_it(app, draft_item_id):
    with app.app_context():
        item = load_work_item(draft_item_id)
        assert (item.id, item.step, item.status) == (draft_item_id, "draft", "open")
        assert item.instance.definition.key == "draft_plan"
        assert item.instance.task is item.task
        assert item.task.code == "1.a"
        assert item.task.section.number
        assert item.task.lead_unit.code == "CNTT"
        assert item.task.assignee.username == "cntt.cv"
        assert item.candidate_unit.code == "CNTT"  # a relationship left out loads lazily
        # a column the statement leaves out is read when asked, not answered as None
        stored_forms = db.session.execute(
            select(ProcessDefinition.__table__.c.forms).where(
                ProcessDefinition.__table__.c.id == item.instance.definition_id
            )
        ).scalar_one()
        assert item.instance.definition.forms == stored_forms
        assert "draft" in stored_forms
        assert item.instance.state is not None  # the deferred state column loads too


def test_the_same_row_is_the_same_object_and_keeps_its_pending_change(app, draft_item_id):
    with app.app_context():
        item = load_work_item(draft_item_id)
        assert db.session.get(WorkItem, draft_item_id) is item
        item.name = "Changed, not flushed"
        again = load_work_item(draft_item_id)
        assert again is item and again.name == "Changed, not flushed"
        assert item in db.session.dirty


def test_a_change_to_a_read_object_is_written_and_expiry_reads_it_again(app, draft_item_id):
    with app.app_context():
        item = load_work_item(draft_item_id)
        assert not db.session.dirty  # read as loaded: nothing to write
        item.name = "Renamed"
        db.session.commit()
        stored = db.session.execute(text("SELECT name FROM work_items WHERE id = :id"), {"id": draft_item_id})
        assert stored.scalar_one() == "Renamed"
        db.session.execute(
            text("UPDATE work_items SET name = 'Elsewhere' WHERE id = :id"), {"id": draft_item_id}
        )
        db.session.expire(item)
        assert item.name == "Elsewhere"


def test_no_such_item_is_none(app):
    with app.app_context():
        assert load_work_item(987654) is None


def test_the_token_holder_comes_with_unit_and_roles_in_order(app):
    with app.app_context():
        leader = db.session.scalar(select(User).where(User.username == "cntt.tp"))
        leader.role_rows.append(UserRole(role="admin"))
        token, _ = issue_token(leader)
        db.session.commit()
        expected_roles = sorted(leader.roles)
        db.session.remove()
        holder = user_for_token(token)
        assert holder.username == "cntt.tp"
        assert holder.unit.code == "CNTT"
        assert holder.roles == expected_roles and "admin" in holder.roles
        assert db.session.get(User, holder.id) is holder


def test_a_holder_without_roles_an_inactive_one_and_an_expired_token(app):
    with app.app_context():
        holder = db.session.scalar(select(User).where(User.username == "cntt.cv"))
        holder.role_rows.clear()
        token, _ = issue_token(holder)
        db.session.commit()
        db.session.remove()
        assert user_for_token(token).roles == []
        db.session.remove()
        db.session.execute(text("UPDATE users SET active = :no WHERE username = 'cntt.cv'"), {"no": False})
        db.session.commit()
        assert user_for_token(token) is None
        db.session.remove()
        db.session.execute(text("UPDATE users SET active = :yes WHERE username = 'cntt.cv'"), {"yes": True})
        db.session.commit()
        assert user_for_token(token) is not None
        db.session.remove()
        db.session.execute(ApiToken.__table__.update().values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        db.session.remove()
        assert user_for_token(token) is None
        assert user_for_token("no-such-token") is None


def test_inserted_rows_are_persistent_as_written(app):
    with app.app_context():
        values = {
            "at": utcnow(),
            "action": "test.inserted",
            "prev_hash": "a" * 64,
            "hash": "b" * 64,
        }
        [event] = insert_new(AuditEvent, [values])
        assert event.id is not None and event.action == "test.inserted" and event.comment is None
        assert db.session.get(AuditEvent, event.id) is event
        assert not db.session.dirty and not db.session.new  # nothing left for a flush to write
        db.session.commit()
        assert (
            db.session.scalar(select(AuditEvent.action).where(AuditEvent.id == event.id)) == "test.inserted"
        )


def test_inserting_refuses_unknown_columns_and_left_out_defaults(app):
    with app.app_context():
        with pytest.raises(ValueError, match="no column"):
            insert_new(
                AuditEvent, [{"at": utcnow(), "action": "x", "prev_hash": "c", "hash": "d", "colour": 1}]
            )
        with pytest.raises(ValueError, match="has a default"):
            insert_new(WorkItem, [{"instance_id": 1}])  # status has a default: it must be given


def test_a_work_item_shown_with_its_task_brings_the_coordinating_units_in_plan_order(app, draft_item_id):
    with app.app_context():
        t1a = task("1.a")
        for position, code in enumerate(["VP", "TTCNTT", "HTS"]):
            db.session.add(TaskCoordination(task_id=t1a.id, unit_id=unit(code).id, position=2 - position))
        db.session.commit()
        db.session.remove()
        item = load_work_item(draft_item_id, with_coordinating_units=True)
        assert "coordinations" in item.task.__dict__  # read with the item, not later
        assert [unit.code for unit in item.task.coordinating_units] == ["HTS", "TTCNTT", "VP"]
        assert item.task.coordinating_units[0] is db.session.get(Unit, unit("HTS").id)


def test_joins_in_written_order_holds_for_its_block_only(app):
    """PostgreSQL plans the statements inside with their joins as written, and the rest of the
    transaction as usual again, also when the block fails; SQLite is not asked anything."""
    from workflows.row_reads import joins_in_written_order, on_postgresql

    seen = []

    def listen(conn, cursor, statement, *rest):
        seen.append(statement)

    if not on_postgresql():
        event.listen(db.engine, "before_cursor_execute", listen)
        with joins_in_written_order():
            pass
        event.remove(db.engine, "before_cursor_execute", listen)
        assert seen == []
        return

    def limit() -> str:
        return db.session.execute(text("SHOW join_collapse_limit")).scalar()

    usual = limit()
    assert usual != "1"
    with joins_in_written_order():
        assert limit() == "1"
    assert limit() == usual
    with pytest.raises(ZeroDivisionError), joins_in_written_order():
        assert limit() == "1"
        1 / 0  # noqa: B018
    assert limit() == usual
    # a statement that fails inside: its own error comes out (not "the transaction is aborted")
    with pytest.raises(DBAPIError) as failed, joins_in_written_order():
        db.session.execute(text("SELECT 1 / 0"))
    assert failed.value.orig.sqlstate == "22012"  # division by zero
    db.session.rollback()
    assert limit() == usual
