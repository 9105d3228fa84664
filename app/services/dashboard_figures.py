"""The dashboard's department-wide counts, kept by the scheduler instead of counted on every view.

For every plan of the department, the dashboard's numbers come from one grouped count over every task
(app.services.dashboard.unit_state_counts): the one read of the page that grows with the data. The
scheduler's tick (`flask workflows tick`, every minute) counts it once and stores the result here; the
page reads that row and says when it was counted. It counts live instead when there is no stored count,
when it was counted for another day (overdue depends on the date) or more than FRESH_FOR ago (the tick is
not running), so a page is never more than a few minutes behind. One plan's page always counts live:
its cost is bounded by the plan's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import DashboardFigures
from app.services.clock import as_utc

ALL_PLANS = "all_plans"
FRESH_FOR = timedelta(minutes=5)

CountRow = tuple[int, str, int, int, int]  # lead unit id, state, tasks, sum of progress, overdue


@dataclass(frozen=True)
class StoredCounts:
    rows: list[CountRow]
    computed_at: datetime  # aware UTC


def stored_counts(today: date, now: datetime) -> StoredCounts | None:
    """The stored department-wide counts if they were counted for `today` within FRESH_FOR of `now`."""
    figures = db.session.get(DashboardFigures, ALL_PLANS)
    if figures is None or figures.local_date != today:
        return None
    computed_at = as_utc(figures.computed_at)
    if abs(now - computed_at) > FRESH_FOR:
        return None
    return StoredCounts([tuple(row) for row in figures.rows], computed_at)


def store_counts(rows: list[CountRow], today: date, now: datetime) -> bool:
    """Replace the stored department-wide counts and commit; whether they differ from the stored ones
    (the time they were made is renewed either way). Two servers ticking at once: the second one's
    insert of the first row loses and changes nothing (the first one's counts are as new)."""
    values = {"computed_at": now, "local_date": today, "rows": sorted([list(row) for row in rows])}
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
