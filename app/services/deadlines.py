"""Deadlines as plans write them: a date (day or month precision) and/or a recurrence."""

from __future__ import annotations

from datetime import date

from app.models import DuePrecision, Recurrence, Task, TaskState

# Recurrences that make the time of a task clear even without a date.
SELF_TIMED = (Recurrence.CONTINUOUS, Recurrence.YEARLY, Recurrence.ON_DEMAND)


def is_overdue(task: Task, today: date) -> bool:
    """Past its date and not closed. Tasks without a date are never overdue."""
    return task.due_date is not None and task.due_date < today and task.state not in TaskState.CLOSED


def format_due(due: date, precision: str | None) -> str:
    """dd/mm/yyyy, or mm/yyyy when the plan names only a month."""
    if precision == DuePrecision.MONTH:
        return due.strftime("%m/%Y")
    return due.strftime("%d/%m/%Y")


def extra_recurrences(task: Task) -> list[str]:
    """The recurrences worth showing next to (or instead of) the date."""
    return [r for r in task.recurrence or [] if r != Recurrence.NONE]
