"""Due marks on tasks (Task.due_status): '' , `due_soon` or `overdue`, kept by the scheduler's tick.

A task is **overdue** when one of its open work items is past its due time, or when its own deadline
(a day-precise one: "28/02/2025") has ended while the task is neither completed nor cancelled. It is
**due soon** when one of those falls within the largest of REMINDER_DAYS (7 days) and nothing is overdue.
Otherwise it carries no mark: a task whose late step is completed loses its mark on the next tick.

`update_due_marks(now)` is idempotent and safe on several servers at once: it works out the marks from
a plain read, then changes only the rows whose mark differs, each by a conditional UPDATE
(`WHERE due_status = <what we read>`), after taking the rows with `SELECT ... FOR UPDATE SKIP LOCKED` on
PostgreSQL (rows another server holds are skipped: it is updating them); on SQLite the writer lock
serialises the writes. The task's `updated_at` is left as it was: a mark is not an edit.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import current_app
from sqlalchemy import and_, func, or_, select, update

from app.extensions import db
from app.models import DuePrecision, Task, TaskState, WorkItem, WorkItemStatus
from app.services.clock import LOCAL_TZ, as_utc
from workflows.row_reads import on_postgresql

NONE = ""
DUE_SOON = "due_soon"
OVERDUE = "overdue"
ALL = (NONE, DUE_SOON, OVERDUE)


def soon_window() -> timedelta:
    """How far ahead "due soon" looks: the largest of REMINDER_DAYS."""
    days = [int(d) for d in current_app.config.get("REMINDER_DAYS", (7, 3, 1))]
    return timedelta(days=max(days, default=7))


def mark_for(now: datetime, item_due: datetime | None, deadline_end: datetime | None) -> str:
    """The mark for the earliest open item's due time and the end of the task's own deadline day."""
    dues = [due for due in (item_due, deadline_end) if due is not None]
    if not dues:
        return NONE
    first = min(dues)
    if now >= first:
        return OVERDUE
    return DUE_SOON if first - now <= soon_window() else NONE


def deadline_end(task: Task) -> datetime | None:
    """The end (23:59:59 local) of an open task's day-precise deadline, else None."""
    if task.due_date is None or task.due_precision != DuePrecision.DAY or task.state in TaskState.CLOSED:
        return None
    return datetime.combine(task.due_date, time(23, 59, 59), tzinfo=LOCAL_TZ)


def wanted_marks(now: datetime) -> dict[int, tuple[str, str]]:
    """{task id: (current mark, wanted mark)} for every task whose mark should change."""
    earliest = dict(
        db.session.execute(
            select(WorkItem.task_id, func.min(WorkItem.due_at))
            .where(WorkItem.status == WorkItemStatus.OPEN, WorkItem.due_at.is_not(None))
            .group_by(WorkItem.task_id)
        ).all()
    )
    candidates = select(Task).where(
        or_(
            Task.due_status != NONE,
            Task.id.in_(list(earliest)),
            and_(
                Task.due_date.is_not(None),
                Task.due_precision == DuePrecision.DAY,
                Task.state.not_in(TaskState.CLOSED),
            ),
        )
    )
    changes = {}
    for task in db.session.scalars(candidates):
        item_due = earliest.get(task.id) if task.state not in TaskState.CLOSED else None
        item_due = as_utc(item_due) if item_due is not None else None
        wanted = mark_for(now, item_due, deadline_end(task))
        if wanted != (task.due_status or NONE):
            changes[task.id] = (task.due_status or NONE, wanted)
    return changes


def _lock(task_ids: list[int]) -> list[tuple[int, str, str]]:
    """Take the rows to change: (id, code, mark now). PostgreSQL skips rows another server holds."""
    query = select(Task.id, Task.code, Task.due_status).where(Task.id.in_(task_ids)).order_by(Task.id)
    if on_postgresql():
        query = query.with_for_update(skip_locked=True)
    return [tuple(row) for row in db.session.execute(query)]


def update_due_marks(now: datetime) -> list[str]:
    """Bring every task's due mark up to date for `now`; one line per changed task."""
    changes = wanted_marks(now)
    db.session.rollback()  # end the read; the writes below take their rows afresh
    if not changes:
        return []
    lines = []
    try:
        for task_id, code, current in _lock(sorted(changes)):
            seen, wanted = changes[task_id]
            if (current or NONE) != seen:
                continue  # changed since we looked: the next tick works it out again
            result = db.session.execute(
                update(Task)
                .where(Task.id == task_id, Task.due_status == seen)
                .values(due_status=wanted, updated_at=Task.updated_at)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount:
                lines.append(f"{code} #{task_id}: {seen or '-'} -> {wanted or '-'}")
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return lines
