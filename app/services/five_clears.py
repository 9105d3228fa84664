"""The "5 rõ" principle: every task needs a clear person, work, responsibility, time and result."""

from __future__ import annotations

from app.models import Recurrence, Task
from app.services.deadlines import SELF_TIMED

FIVE_CLEARS = ("person", "work", "responsibility", "time", "result")


def missing_clears(task: Task) -> list[str]:
    """Which of the five are missing, in the principle's order."""
    missing = []
    if task.assignee_id is None:
        missing.append("person")
    if not (task.content or "").strip():
        missing.append("work")
    if task.lead_unit_id is None:
        missing.append("responsibility")
    if task.due_date is None and not any(r in SELF_TIMED for r in task.recurrence or []):
        missing.append("time")
    if not (task.expected_result or "").strip():
        missing.append("result")
    return missing


def waits_for_guidance(task: Task) -> bool:
    return Recurrence.ON_GUIDANCE in (task.recurrence or [])
