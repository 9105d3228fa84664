"""Period instances of standing duties: one process instance per month or year, started by the scheduler.

A `continuous_duty` task ("thường xuyên", "hằng năm") never ends, so it does not run one ever-growing
instance: the scheduler (`flask workflows tick`, workflows/scheduler.py) starts one instance per period,
and each records what was done in that period. The cadence comes from the task's recurrence: `yearly`
→ one instance a year ("2025"); otherwise `continuous` → one a month ("2025-03"). Periods run from the
plan's issue date (or today, if the plan has none) up to and including the current one, in the
department's time zone.

The plan's monthly reporting cycle runs the same way: its reporting tasks (kind `report`, task types
`monthly_report` — one per unit — and `monthly_consolidation`, app/services/reporting.py) recur
`continuous`, so each gets one instance a month, and reminders, escalation, due marks, timers and the
worklist treat their steps like any other. A month's report is only worth asking for while that month
lasts, so reporting tasks start the current month only: no catch-up of past months (a server started
long after the plan's issue date does not send every unit two years of overdue reports), whereas each
past period of a standing duty is started, since each records work done.

Starting a period is idempotent across servers: `ProcessInstance` has a unique (task_id, period), the
start first takes the task's row (concurrent starts queue there), then checks for the period, and a
second insert that still slips through fails on the constraint and is skipped.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import ProcessInstance, Recurrence, Task, TaskState
from app.services.clock import local_today, utcnow
from app.services.reporting import REPORTING_TYPES
from app.services.task_types import PERIODIC_TYPES
from workflows import signals
from workflows.engine import _start, latest_definition
from workflows.errors import InvalidData

MONTHLY = "month"
YEARLY = "year"


def cadence(task: Task) -> str | None:
    """`year`, `month`, or None for a task that is not run per period."""
    if task.task_type not in PERIODIC_TYPES:
        return None
    recurrence = set(task.recurrence or [])
    if Recurrence.YEARLY in recurrence:
        return YEARLY
    if Recurrence.CONTINUOUS in recurrence:
        return MONTHLY
    return None


def period_of(day: date, every: str) -> str:
    return f"{day.year:04d}" if every == YEARLY else f"{day.year:04d}-{day.month:02d}"


def periods_due(task: Task, today: date | None = None) -> list[str]:
    """Every period of the task from the plan's issue date up to and including today's, oldest first
    (a reporting task: today's only, see the module docstring)."""
    every = cadence(task)
    if every is None:
        return []
    today = today or local_today()
    first = task.plan.issued_on or today
    if first > today:
        return []
    if task.task_type in REPORTING_TYPES:
        return [period_of(today, every)]
    if every == YEARLY:
        return [f"{year:04d}" for year in range(first.year, today.year + 1)]
    periods, year, month = [], first.year, first.month
    while (year, month) <= (today.year, today.month):
        periods.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return periods


def started_periods(task: Task) -> set[str]:
    query = select(ProcessInstance.period).where(
        ProcessInstance.task_id == task.id, ProcessInstance.period.is_not(None)
    )
    return set(db.session.scalars(query))


def start_period(task: Task, period: str, now: datetime | None = None) -> ProcessInstance | None:
    """Start the task's process for one period as the system; commit. None if it was already started."""
    if task.state in TaskState.CLOSED:
        return None
    definition = latest_definition(task.task_type)
    if definition is None:
        raise InvalidData(
            f"unknown process '{task.task_type}'", {"process": f"no deployed process '{task.task_type}'"}
        )
    try:
        # Take the task's row first: concurrent starts queue here (row lock / SQLite writer lock).
        db.session.execute(update(Task).where(Task.id == task.id).values(updated_at=func.now()))
        if period in started_periods(task):
            db.session.rollback()
            return None
        _result, events = _start(task, None, definition, period=period, now=now or utcnow())
        instance = db.session.get(ProcessInstance, events[0].instance_id)
        db.session.commit()
    except IntegrityError:  # another server started this period between our check and our insert
        db.session.rollback()
        return None
    except Exception:
        db.session.rollback()
        raise
    signals.transition_committed.send(task, events=events)
    return instance


def duty_tasks() -> list[Task]:
    query = select(Task).where(Task.task_type.in_(PERIODIC_TYPES)).order_by(Task.plan_id, Task.position)
    return list(db.session.scalars(query))


def start_due_periods(today: date | None = None, now: datetime | None = None) -> list[tuple[str, str]]:
    """Start every missing period of every periodic task, one transaction each: [(task code, period)]."""
    today = today or local_today()
    now = now or utcnow()
    started: list[tuple[str, str]] = []
    for task in duty_tasks():
        if task.state in TaskState.CLOSED:
            continue
        missing = [p for p in periods_due(task, today) if p not in started_periods(task)]
        db.session.rollback()  # end the read transaction: each start begins with its write lock
        for period in missing:
            if start_period(task, period, now) is not None:
                started.append((task.code, period))
    return started
