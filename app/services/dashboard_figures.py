"""The dashboard's department-wide figures, kept by the scheduler instead of counted on every view.

For every plan of the department, the dashboard's numbers come from one grouped count over every task
(app.services.dashboard.unit_state_counts: tasks by lead unit and state) summed up per unit, per state
and in all (`Tallies`): the part of the page that grows with the data (the count with the tasks, the
sums with the units and states: 7,888 groups at the benchmark's full size). The scheduler's tick
(`flask workflows tick`, every minute) counts and sums once and stores the sums here; the page reads that
row and says when it was counted. It counts live instead when there is no stored row (or one of an
older format), when it was counted for another day (overdue depends on the date) or more than FRESH_FOR
ago (the tick is not running), so a page is never more than a few minutes behind. One plan's page always
counts live: its cost is bounded by the plan's size.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import DashboardFigures, TaskState
from app.services.clock import as_utc

ALL_PLANS = "all_plans"
FRESH_FOR = timedelta(minutes=5)
# Not started for the dashboard: not started, or waiting for central guidance.
NOT_STARTED_STATES = (TaskState.NOT_STARTED, TaskState.WAITING_GUIDANCE)

# lead unit id, state, tasks, sum of progress, overdue, due soon (the last two of open tasks only)
CountRow = tuple[int, str, int, int, int, int]


@dataclass
class Tally:
    """Tasks of a unit (or of all units) by how far they are, with their overdue and due-soon ones."""

    tasks: int = 0
    completed: int = 0
    in_progress: int = 0
    not_started: int = 0
    overdue: int = 0
    due_soon: int = 0
    progress: int = 0  # the sum of the tasks' progress (%)

    def add(self, state: str, count: int, progress: int, overdue: int, due_soon: int) -> None:
        self.tasks += count
        self.progress += progress
        self.overdue += overdue
        self.due_soon += due_soon
        if state == TaskState.COMPLETED:
            self.completed += count
        elif state in NOT_STARTED_STATES:
            self.not_started += count
        elif state not in TaskState.CLOSED:
            self.in_progress += count

    def merge(self, other: Tally) -> None:
        for name, value in vars(other).items():
            setattr(self, name, getattr(self, name) + value)

    @property
    def average_progress(self) -> float:
        return self.progress / self.tasks if self.tasks else 0.0


@dataclass
class Tallies:
    """unit_state_counts summed up: per lead unit, per state, and in all."""

    units: dict[int, Tally] = field(default_factory=dict)
    states: dict[str, int] = field(default_factory=dict)
    total: Tally = field(default_factory=Tally)

    @classmethod
    def of(cls, rows: list[CountRow]) -> Tallies:
        tallies = cls()
        for unit_id, state, count, progress, overdue, due_soon in rows:
            counts = (int(count), int(progress), int(overdue), int(due_soon))
            tallies.total.add(state, *counts)
            tallies.units.setdefault(unit_id, Tally()).add(state, *counts)
            tallies.states[state] = tallies.states.get(state, 0) + int(count)
        return tallies

    def to_json(self) -> dict:
        return {
            "units": sorted([unit_id, *astuple(tally)] for unit_id, tally in self.units.items()),
            "states": sorted([state, count] for state, count in self.states.items()),
        }

    @classmethod
    def from_json(cls, value) -> Tallies | None:
        """The tallies stored by `to_json`; None for anything else (a row stored in an older format)."""
        if not isinstance(value, dict) or not {"units", "states"} <= set(value):
            return None
        tallies = cls(states=dict(value["states"]))
        width = len(astuple(Tally()))
        for unit_id, *counts in value["units"]:
            if len(counts) != width:
                return None
            tallies.units[unit_id] = Tally(*counts)
            tallies.total.merge(tallies.units[unit_id])
        return tallies


@dataclass(frozen=True)
class StoredTallies:
    tallies: Tallies
    computed_at: datetime  # aware UTC


def stored_tallies(today: date, now: datetime) -> StoredTallies | None:
    """The stored department-wide tallies if they were counted for `today` within FRESH_FOR of `now`."""
    figures = db.session.get(DashboardFigures, ALL_PLANS)
    if figures is None or figures.local_date != today:
        return None
    computed_at = as_utc(figures.computed_at)
    if abs(now - computed_at) > FRESH_FOR:
        return None
    tallies = Tallies.from_json(figures.rows)
    return StoredTallies(tallies, computed_at) if tallies is not None else None


def store_tallies(tallies: Tallies, today: date, now: datetime) -> bool:
    """Replace the stored department-wide tallies and commit; whether they differ from the stored ones
    (the time they were made is renewed either way). Two servers ticking at once: the second one's
    insert of the first row loses and changes nothing (the first one's tallies are as new)."""
    values = {"computed_at": now, "local_date": today, "rows": tallies.to_json()}
    figures = db.session.get(DashboardFigures, ALL_PLANS)
    changed = figures is None or (figures.local_date, figures.rows) != (today, values["rows"])
    if figures is None:
        db.session.add(DashboardFigures(scope=ALL_PLANS, **values))
    else:
        for name, value in values.items():
            setattr(figures, name, value)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return changed
