"""The dashboard's department-wide counts: the scheduler's tick counts them, the page reads them and says
when; stale, absent or another day's counts are counted again on the page; one plan's page counts live."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lxml import html
from sqlalchemy import select

from app.extensions import db
from app.models import DashboardFigures, Task, TaskState
from app.services.clock import LOCAL_TZ, local_today
from app.services.dashboard import dashboard, unit_state_counts
from app.services.dashboard_figures import ALL_PLANS, FRESH_FOR, Tallies, store_tallies, stored_tallies
from app.services.dashboard_lists import Scope
from tests.engine_helpers import task
from tests.test_dashboard import counted_statements, expected_counts, get_page, plan_tasks, table_rows
from workflows.scheduler import tick


def page_again(client, url: str = "/dashboard"):
    """The page again, for the user get_page signed in."""
    response = client.get(url)
    assert response.status_code == 200
    return html.fromstring(response.get_data(as_text=True))


def summary_of(page) -> dict[str, str]:
    summary = page.get_element_by_id("dashboard-summary")
    return {
        div.get("data-summary"): div.find("dd").text_content().strip()
        for div in summary.iter("div")
        if div.get("data-summary")
    }


def complete(code: str) -> None:
    task(code).state, task(code).progress = TaskState.COMPLETED, 100
    db.session.commit()


def test_the_tick_stores_the_counts_the_page_would_make(app):
    today = local_today()
    report = tick()
    groups = len(unit_state_counts(Scope(None), today))
    assert report.done["dashboard_counted"] == [
        f"{len(plan_tasks())} tasks in {groups} groups by lead unit and state"
    ]
    stored = stored_tallies(today, datetime.now(UTC))
    assert stored is not None
    assert stored.tallies == Tallies.of(unit_state_counts(Scope(None), today))


def test_the_page_shows_the_stored_counts_and_when_they_were_made(client, auth, app):
    tick()
    complete("4.a")  # after the tick: not in the stored counts yet
    page = get_page(client, auth, "/dashboard")
    assert summary_of(page)["completed"] == "0"
    counted = page.get_element_by_id("dashboard-counted-at").text_content()
    stored_at = db.session.get(DashboardFigures, ALL_PLANS).computed_at
    assert stored_at.replace(tzinfo=UTC).astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M") in counted
    tick()  # the next minute's tick counts it
    page = page_again(client)
    assert summary_of(page)["completed"] == "1"
    tasks, today = plan_tasks(), local_today()
    by_unit = table_rows(page, "table-units")
    for code, row in by_unit.items():
        assert row == expected_counts([t for t in tasks if t.lead_unit.code == code], today), code


def test_without_fresh_counts_the_page_counts_live(client, auth, app):
    page = get_page(client, auth, "/dashboard")  # never ticked
    assert summary_of(page)["tasks"] == "28"
    assert not page.xpath('//*[@id="dashboard-counted-at"]')
    today, now = local_today(), datetime.now(UTC)
    tallies = Tallies.of(unit_state_counts(Scope(None), today))
    store_tallies(tallies, today, now - FRESH_FOR - timedelta(seconds=1))  # the tick stopped
    complete("4.a")
    page = page_again(client)
    assert summary_of(page)["completed"] == "1"
    assert not page.xpath('//*[@id="dashboard-counted-at"]')
    store_tallies(tallies, today - timedelta(days=1), now)  # counted for yesterday: overdue has moved on
    assert stored_tallies(today, now) is None
    assert summary_of(page_again(client))["completed"] == "1"


def test_one_plan_is_always_counted_live(client, auth, app):
    tick()
    complete("4.a")
    page = get_page(client, auth, "/dashboard?plan=1")
    assert summary_of(page)["completed"] == "1"
    assert not page.xpath('//*[@id="dashboard-counted-at"]')


def test_with_stored_counts_the_page_reads_no_task_counts(app):
    today = local_today()

    def grouped_counts(statements):
        return [s for s in statements if "GROUP BY tasks.lead_unit_id" in " ".join(s.split())]

    tick()  # (it also starts the standing duties' periods: the counts are compared after it)
    with counted_statements() as statements:
        board = dashboard(today)
    assert board.counted_at is not None and grouped_counts(statements) == []
    assert not [s for s in statements if "count(tasks.id)" in s]  # the lists' totals come with the tallies
    db.session.delete(db.session.get(DashboardFigures, ALL_PLANS))
    db.session.commit()
    with counted_statements() as live:
        counted_live = dashboard(today)
    assert counted_live.counted_at is None and len(grouped_counts(live)) == 1
    assert board.summary == counted_live.summary and board.by_unit == counted_live.by_unit
    assert board.by_state == counted_live.by_state
    assert (board.overdue.total, board.due_soon.total) == (
        counted_live.overdue.total,
        counted_live.due_soon.total,
    )


def test_a_second_store_replaces_the_first(app):
    today, now = local_today(), datetime.now(UTC)
    store_tallies(Tallies.of([(1, TaskState.NOT_STARTED, 3, 0, 0, 1)]), today, now)
    second = Tallies.of([(2, TaskState.COMPLETED, 5, 500, 0, 0)])
    store_tallies(second, today, now + timedelta(seconds=60))
    assert db.session.scalars(select(DashboardFigures)).all() == [db.session.get(DashboardFigures, ALL_PLANS)]
    assert stored_tallies(today, now + timedelta(seconds=60)).tallies == second
    assert tick().done["dashboard_counted"] != []  # the demo's counts differ from these
    again = tick()
    assert again.done["dashboard_counted"] == []  # nothing changed: no line, but counted again at its time
    assert stored_tallies(today, again.now).computed_at == again.now
    assert db.session.scalar(select(Task.id).limit(1)) is not None


def test_figures_stored_in_an_older_format_are_counted_again(client, auth, app):
    today, now = local_today(), datetime.now(UTC)
    old_rows = [[1, TaskState.NOT_STARTED, 3, 0, 0]]  # the raw groups an earlier version stored
    db.session.add(DashboardFigures(scope=ALL_PLANS, computed_at=now, local_date=today, rows=old_rows))
    db.session.commit()
    assert stored_tallies(today, now) is None
    page = get_page(client, auth, "/dashboard")
    assert summary_of(page)["tasks"] == "28"
    assert not page.xpath('//*[@id="dashboard-counted-at"]')


def test_the_lists_totals_come_with_the_tallies(app):
    """Overdue and due-soon totals are the tallies' sums of open tasks, the same as the lists count."""
    today = local_today()
    late, soon, closed = task("1.a"), task("1.b"), task("2.a")
    late.due_date, soon.due_date = today - timedelta(days=3), today + timedelta(days=2)
    closed.due_date, closed.state = today - timedelta(days=3), TaskState.COMPLETED
    db.session.commit()
    tick()
    board = dashboard(today)
    assert board.counted_at is not None
    stored = stored_tallies(today, datetime.now(UTC)).tallies
    assert board.overdue.total == stored.total.overdue >= 1
    assert board.due_soon.total == stored.total.due_soon >= 1
    db.session.delete(db.session.get(DashboardFigures, ALL_PLANS))
    db.session.commit()
    from app.services.dashboard_lists import DUE_SOON, OVERDUE, dated_list
    from app.services.dashboard_lists import Scope as ListScope

    overdue = dated_list(ListScope(None), today, OVERDUE, size=100)
    due_soon = dated_list(ListScope(None), today, DUE_SOON, size=100)
    assert overdue.total == board.overdue.total and due_soon.total == board.due_soon.total
    assert late in overdue.tasks and soon in due_soon.tasks and closed not in overdue.tasks
