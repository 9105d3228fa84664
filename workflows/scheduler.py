"""`flask workflows tick`: the scheduler's one entry point, safe to run every minute from cron on
several servers at once (every step is idempotent and commits its own small transactions).

`tick(now)` runs STEPS in order and collects what each did into a TickReport (BPMN timers:
workflows/timers.py; reminders, escalations: workflows/reminders.py; due marks: workflows/due_marks.py;
the dashboard's department-wide counts, last: app/services/dashboard_figures.py).
To add a step, write `def step(now: datetime) -> list[str]` returning one line per thing done, and
append it to STEPS under its name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from app.services.clock import LOCAL_TZ, utcnow
from app.services.dashboard import refresh_department_figures
from workflows.due_marks import update_due_marks
from workflows.periods import start_due_periods
from workflows.reminders import escalate_overdue, send_due_reminders
from workflows.timers import fire_due_timers


def start_periods_step(now: datetime) -> list[str]:
    """Start every standing duty's missing period instances (workflows/periods.py)."""
    today = now.astimezone(LOCAL_TZ).date()
    return [f"{code} {period}" for code, period in start_due_periods(today, now)]


# (name, step) in the order they run: new periods first, so their steps are reminded too; timers before
# reminders and marks, so a step a timer closed is neither reminded nor marked; the dashboard's counts
# after everything that changes them.
STEPS: list[tuple[str, Callable[[datetime], list[str]]]] = [
    ("periods_started", start_periods_step),
    ("timers_fired", fire_due_timers),
    ("reminders_sent", send_due_reminders),
    ("escalations_sent", escalate_overdue),
    ("marks_updated", update_due_marks),
    ("dashboard_counted", refresh_department_figures),
]


@dataclass
class TickReport:
    now: datetime
    done: dict[str, list[str]] = field(default_factory=dict)

    @property
    def periods_started(self) -> list[str]:
        return self.done.get("periods_started", [])

    def lines(self) -> list[str]:
        out = [f"tick {self.now.isoformat()}"]
        for name, entries in self.done.items():
            out.append(f"{name}: {len(entries)}")
            out += [f"  {entry}" for entry in entries]
        return out


def tick(now: datetime | None = None) -> TickReport:
    """Run every scheduler step once for `now` (default: the current time)."""
    now = now or utcnow()
    if now.tzinfo is None:
        now = now.replace(tzinfo=LOCAL_TZ)  # a naive --now is the department's local time
    report = TickReport(now=now)
    for name, step in STEPS:
        report.done[name] = step(now)
    return report
