"""Due marks on tasks (workflows/due_marks.py): due soon, overdue, and cleared again.

Demo deadlines: 1.a 28/02/2025 and 1.b 30/07/2025 (day-precise), 2.b 05/2025 (month only), 2.a none.
Every call gets an explicit `now` (the department's local time).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select

from app.extensions import db
from app.models import Task, TaskState, WorkItem, WorkItemStatus
from app.services.clock import LOCAL_TZ
from tests.engine_helpers import open_items, task, user
from workflows.due_marks import DUE_SOON, NONE, OVERDUE, mark_for, update_due_marks
from workflows.engine import start_process
from workflows.scheduler import tick

NOW = datetime(2025, 4, 1, 9, 0, tzinfo=LOCAL_TZ)
DAY = timedelta(days=1)


def local(year, month, day, hour=9, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LOCAL_TZ)


def marks() -> dict[str, str]:
    db.session.expire_all()
    return {t.code: t.due_status for t in db.session.scalars(select(Task)) if t.due_status}


def line(code: str, old: str, new: str) -> str:
    return f"{code} #{task(code).id}: {old or '-'} -> {new or '-'}"


@pytest.mark.parametrize(
    ("item_due", "deadline", "expected"),
    [
        (None, None, NONE),
        (NOW + 8 * DAY, None, NONE),
        (NOW + 7 * DAY, None, DUE_SOON),
        (NOW + timedelta(minutes=1), None, DUE_SOON),
        (NOW, None, OVERDUE),
        (None, NOW - timedelta(seconds=1), OVERDUE),
        (NOW + 30 * DAY, NOW + 2 * DAY, DUE_SOON),  # the earlier of the two counts
        (NOW + 30 * DAY, NOW - DAY, OVERDUE),
        (NOW - DAY, NOW + 30 * DAY, OVERDUE),
    ],
)
def test_the_mark_for_a_due_time(app, item_due, deadline, expected):
    assert mark_for(NOW, item_due, deadline) == expected


def test_a_day_deadline_makes_a_task_due_soon_then_overdue_each_once(app):
    assert update_due_marks(local(2025, 2, 20)) == []  # 28/02 is more than 7 days away
    assert update_due_marks(local(2025, 2, 22)) == [line("1.a", "", DUE_SOON)]
    assert update_due_marks(local(2025, 2, 22, 10)) == []  # idempotent
    assert marks() == {"1.a": DUE_SOON}
    assert update_due_marks(local(2025, 2, 28, 23, 59)) == []  # the whole deadline day is still in time
    assert update_due_marks(local(2025, 3, 1, 0, 0)) == [line("1.a", DUE_SOON, OVERDUE)]
    assert marks() == {"1.a": OVERDUE}


def test_closing_the_task_clears_its_mark(app):
    update_due_marks(local(2025, 3, 1))
    t1a = task("1.a")
    t1a.state = TaskState.COMPLETED
    db.session.commit()
    assert update_due_marks(local(2025, 3, 2)) == [line("1.a", OVERDUE, "")]
    assert marks() == {}


def test_a_month_deadline_alone_marks_nothing(app):
    update_due_marks(local(2025, 6, 25))
    now_marked = marks()
    assert "2.b" not in now_marked  # 05/2025: only a month, not a day
    assert now_marked["1.a"] == now_marked["3.c"] == OVERDUE  # 28/02, 30/03: gone by, tasks still open
    assert now_marked["3.a"] == DUE_SOON  # 30/06


def test_an_open_step_past_its_due_time_makes_the_task_overdue_until_it_is_done(app):
    t1b = task("1.b")  # its own deadline, 30/07/2025, is far away
    start_process(t1b, user("cntt.cv"))
    [item] = open_items(t1b)
    item.due_at = local(2025, 4, 5, 17).astimezone(UTC)  # stored in UTC, as the engine does
    db.session.commit()
    assert of_1b(update_due_marks(NOW)) == [line("1.b", "", DUE_SOON)]
    assert of_1b(update_due_marks(local(2025, 4, 5, 17))) == [line("1.b", DUE_SOON, OVERDUE)]

    item = db.session.get(WorkItem, item.id)
    item.status = WorkItemStatus.COMPLETED
    db.session.commit()
    assert of_1b(update_due_marks(local(2025, 4, 6))) == [line("1.b", OVERDUE, "")]
    assert "1.b" not in marks()


def of_1b(lines: list[str]) -> list[str]:
    return [entry for entry in lines if entry.startswith("1.b ")]


def test_only_rows_whose_mark_changes_are_written_and_updated_at_is_kept(app):
    before = {t.code: t.updated_at for t in db.session.scalars(select(Task))}
    updates: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE"):
            updates.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        changed = update_due_marks(local(2025, 4, 1))
        assert len(updates) == len(changed) > 1
        updates.clear()
        assert update_due_marks(local(2025, 4, 1, 9, 5)) == [] and updates == []
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    db.session.expire_all()
    assert {t.code: t.updated_at for t in db.session.scalars(select(Task))} == before


def test_due_soon_looks_as_far_ahead_as_the_first_reminder(app):
    app.config["REMINDER_DAYS"] = (10, 2)
    assert update_due_marks(local(2025, 2, 18, 12)) == []  # 10½ days before the end of 28/02
    assert update_due_marks(local(2025, 2, 19, 12)) == [line("1.a", "", DUE_SOON)]


def test_the_tick_reports_the_marks(app):
    report = tick(local(2025, 2, 22))
    assert report.done["marks_updated"] == [line("1.a", "", DUE_SOON)]
    assert "marks_updated: 1" in report.lines()
    assert tick(local(2025, 2, 22)).done["marks_updated"] == []


def test_two_servers_at_once_mark_each_task_once(app):
    barrier = threading.Barrier(2)
    results: list[list[str]] = []
    failures: list[BaseException] = []

    def run() -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                results.append(update_due_marks(local(2025, 4, 1)))
                db.session.remove()
        except BaseException as error:  # surfaced below
            failures.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    lines = sorted(results[0] + results[1])
    assert len(lines) == len(set(lines)) == len(marks()) > 1
