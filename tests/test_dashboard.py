"""The dashboard and a plan's timeline: the numbers on the pages are the database's, filters pick the
right tasks, and the queries do not grow with the number of tasks (the task diagram: test_diagram_path.py)."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from lxml import html
from sqlalchemy import event, select

from app.extensions import db
from app.models import AuditEvent, PlanSection, Task, TaskState
from app.models.plans import TaskKind
from app.services.clock import local_today
from app.services.dashboard import dashboard
from app.services.dashboard_lists import DUE_SOON, TOP, Scope, dated_list
from app.services.five_clears import FIVE_CLEARS, missing_clears
from app.services.timeline import TimelineFilter, plan_timeline
from tests.engine_helpers import task, user
from tests.test_engine import to_opinions, to_review
from workflows.engine import start_process

NOT_STARTED = (TaskState.NOT_STARTED, TaskState.WAITING_GUIDANCE)


# --- helpers ----------------------------------------------------------------------------------------


def plan_tasks() -> list[Task]:
    db.session.expire_all()
    return list(db.session.scalars(select(Task).where(Task.kind == TaskKind.PLAN).order_by(Task.position)))


def is_overdue(t: Task, today: date) -> bool:
    if t.state in TaskState.CLOSED:
        return False
    return (t.due_date is not None and t.due_date < today) or t.due_status == "overdue"


def expected_counts(tasks: list[Task], today: date) -> dict[str, str]:
    """The numbers a progress row shows, computed here in Python from the rows themselves."""
    closed = (*NOT_STARTED, *TaskState.CLOSED)
    return {
        "tasks": str(len(tasks)),
        "completed": str(sum(t.state == TaskState.COMPLETED for t in tasks)),
        "in_progress": str(sum(t.state not in closed for t in tasks)),
        "not_started": str(sum(t.state in NOT_STARTED for t in tasks)),
        "overdue": str(sum(is_overdue(t, today) for t in tasks)),
        "average_progress": f"{sum(t.progress for t in tasks) / len(tasks):.1f}%",
    }


def table_rows(page, table_id: str) -> dict[str, dict[str, str]]:
    rows = {}
    for row in page.get_element_by_id(table_id).iter("tr"):
        key = row.get("data-key")
        if key is not None:
            rows[key] = {
                cell.get("data-col"): cell.text_content().strip() for cell in row if cell.get("data-col")
            }
    return rows


def get_page(client, auth, url: str, username: str = "giamsat"):
    auth.login(username)
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return html.fromstring(response.get_data(as_text=True))


def codes_in(page, element_id: str) -> list[str]:
    return [li.get("data-task-code") for li in page.get_element_by_id(element_id).iter("li")]


@pytest.fixture
def worked(app):
    """The demo with some work done: 1.a at collect_opinions, 3.a started with a deadline in a month,
    4.a completed, 5 marked overdue by the scheduler, 6 cancelled, 7.a half done."""
    today = local_today()
    to_opinions(task("1.a"))
    started = task("3.a")
    started.due_date = today + timedelta(days=30)
    db.session.commit()
    start_process(started, _lead_specialist(started))
    for code, changes in {
        "4.a": {"state": TaskState.COMPLETED, "progress": 100},
        "5": {"due_status": "overdue", "due_date": today + timedelta(days=3)},
        "6": {"state": TaskState.CANCELLED},
        "7.a": {"state": TaskState.IN_PROGRESS, "progress": 50},
    }.items():
        for name, value in changes.items():
            setattr(task(code), name, value)
    db.session.commit()
    return today


def _lead_specialist(t: Task):
    from app.models import Role, User

    users = db.session.scalars(select(User).where(User.unit_id == t.lead_unit_id))
    return next(u for u in users if u.has_role(Role.SPECIALIST))


@contextmanager
def counted_statements():
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


# --- the dashboard ----------------------------------------------------------------------------------


def test_progress_by_unit_and_section_match_the_database(client, auth, worked):
    page = get_page(client, auth, "/dashboard?plan=1")  # sections are a plan's: shown for one plan
    tasks = plan_tasks()
    units = {t.lead_unit.code for t in tasks}
    by_unit = table_rows(page, "table-units")
    assert set(by_unit) == units
    for code in units:
        assert by_unit[code] == expected_counts([t for t in tasks if t.lead_unit.code == code], worked), code
    by_section = table_rows(page, "table-sections")
    sections = db.session.scalars(select(PlanSection)).all()
    assert set(by_section) == {s.number for s in sections}
    for section in sections:
        mine = [t for t in tasks if t.section_id == section.id]
        assert by_section[section.number] == expected_counts(mine, worked), section.number
    # the plan's own tasks only: the demo's monthly reporting tasks are not counted
    assert db.session.scalar(select(Task.id).where(Task.kind == TaskKind.REPORT)) is not None
    summary = page.get_element_by_id("dashboard-summary")
    shown = {
        div.get("data-summary"): div.find("dd").text_content().strip()
        for div in summary.iter("div")
        if div.get("data-summary")
    }
    assert shown["tasks"] == str(len(tasks)) == "28"
    assert shown["completed"] == "1" and shown["in_progress"] == "3"


def test_states_overdue_and_due_soon_lists(client, auth, worked):
    page = get_page(client, auth, "/dashboard")
    tasks = plan_tasks()
    states = {
        row.get("data-state"): row.findall("td")[0].text_content().strip()
        for row in page.get_element_by_id("table-states").iter("tr")
        if row.get("data-state")
    }
    assert states == {s: str(sum(t.state == s for t in tasks)) for s in {t.state for t in tasks}}
    assert states[TaskState.COLLECTING_OPINIONS] == "1"
    overdue = [t for t in tasks if is_overdue(t, worked)]
    codes = [t.code for t in overdue]
    assert "5" in codes and "4.a" not in codes and "6" not in codes  # marked; completed; cancelled
    # the longest overdue first (then the tasks overdue by their mark only), at most TOP of them
    urgent = sorted(overdue, key=lambda t: (t.due_date is None or t.due_date >= worked, t.due_date, t.id))
    assert codes_in(page, "overdue-list") == [t.code for t in urgent[:TOP]] and len(overdue) > TOP
    assert page.get_element_by_id("overdue-heading").find("span").text_content() == str(len(overdue))
    assert page.get_element_by_id("overdue-list").find(".//a").get("href").startswith("/tasks/")
    assert page.get_element_by_id("overdue-list-all").get("href") == "/dashboard/tasks?show=overdue"
    # due within 7 days: 5 (in 3 days) is listed; 3.a (in 30 days) is not
    assert codes_in(page, "due-soon-list") == ["5"]


def test_due_soon_counts_today_to_seven_days_ahead_and_skips_closed_tasks(app):
    task("7.b").state = TaskState.COMPLETED
    db.session.commit()
    codes = [t.code for t in dated_list(Scope(), date(2025, 3, 23), DUE_SOON, 1, 50).tasks]  # 30/3/2025
    expected = [
        t.code
        for t in plan_tasks()
        if t.due_date
        and date(2025, 3, 23) <= t.due_date <= date(2025, 3, 30)
        and t.state not in TaskState.CLOSED
    ]
    assert sorted(codes) == sorted(expected) and "7.b" not in codes and len(codes) >= 3
    assert dated_list(Scope(), date(2025, 3, 22), DUE_SOON).tasks == []  # 8 days before: nothing yet


def test_five_clear_gaps_count_each_missing_clear_and_list_the_tasks(client, auth, app):
    tasks = plan_tasks()
    board = dashboard(local_today(), task("1.a").plan)  # the "5 rõ" are a plan's
    counts = {row.clear: row.count for row in board.gap_counts}
    assert counts == {clear: sum(clear in missing_clears(t) for t in tasks) for clear in FIVE_CLEARS}
    lacking = [t for t in tasks if missing_clears(t)]
    urgent = sorted(
        lacking,
        key=lambda t: (t.state in TaskState.CLOSED, t.due_date is None, t.due_date or date.min, t.position),
    )
    assert [gap.task.code for gap in board.gaps.gaps] == [t.code for t in urgent[:TOP]]
    assert board.gaps.total == len(lacking)
    assert dashboard(local_today()).gaps is None  # every plan: the page asks to choose one
    before = counts["person"]
    task("1.b").assignee = user("cntt.cv")
    db.session.commit()
    page = get_page(client, auth, "/dashboard?plan=1")
    rows = {
        row.get("data-clear"): row.find("td").text_content().strip()
        for row in page.get_element_by_id("table-gaps").iter("tr")
        if row.get("data-clear")
    }
    assert rows["person"] == str(before - 1)
    gap_codes = [li.get("data-task-code") for li in page.get_element_by_id("gap-tasks").iter("li")]
    assert len(gap_codes) == TOP and "1.b" not in gap_codes  # its deadline is not among the nearest
    whole = page.get_element_by_id("gap-tasks-all").get("href")
    assert whole == "/dashboard/tasks?show=gaps&plan=1"
    listed = html.fromstring(client.get(whole).get_data(as_text=True))
    missing_1b = listed.xpath("//tr[@data-task-code='1.b']//span[@data-missing]")
    assert [span.get("data-missing") for span in missing_1b] == missing_clears(task("1.b"))  # no result


def test_recent_activity_shows_the_newest_audit_events(client, auth, worked):
    page = get_page(client, auth, "/dashboard")
    rows = page.get_element_by_id("recent-table").findall(".//tbody/tr")
    query = select(AuditEvent).where(AuditEvent.task_id.is_not(None))  # work on tasks, not sign-ins
    newest = db.session.scalars(query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())).all()
    assert len(rows) == min(20, len(newest))
    assert [row.get("data-action") for row in rows] == [e.action for e in newest[:20]]
    first = rows[0]
    assert newest[0].action == "process.started" and "Bắt đầu quy trình" in first.text_content()  # 3.a
    assert newest[0].actor_name in first.text_content()
    link = first.find(".//a")
    assert link.get("href") == f"/tasks/{newest[0].task_id}"


def test_the_page_carries_the_chart_data_and_the_navigation_link(client, auth, worked):
    import json

    page = get_page(client, auth, "/dashboard", "hts.cv")
    data = json.loads(page.get_element_by_id("dashboard-data").text)
    by_unit = table_rows(page, "table-units")
    assert len(data["units"]["labels"]) == len(by_unit)
    assert sum(data["units"]["completed"]) == 1 and sum(data["states"]["counts"]) == 28
    assert page.get_element_by_id("chart-units").tag == "canvas"
    assert page.xpath("//script[contains(@src, 'chart.js/dist/chart.umd.min.js')]")
    assert not [s for s in page.xpath("//script[not(@src)]") if s.get("type") != "application/json"]
    assert page.get_element_by_id("nav-dashboard").text_content().strip() == "Tổng quan"


def test_query_count_does_not_grow_with_the_tasks(client, auth, app):
    auth.login("giamsat")
    client.get("/dashboard")  # warm caches (translations, specs)
    client.get("/plans/1/timeline")
    with counted_statements() as before:
        assert client.get("/dashboard").status_code == 200
        assert client.get("/plans/1/timeline").status_code == 200
    board_before = _statements_of(lambda: dashboard(local_today()))
    template = task("3.b")
    for number in range(30):
        db.session.add(
            Task(
                plan_id=template.plan_id,
                section_id=template.section_id if number % 2 else task("8.a").section_id,
                code=f"X{number}",
                position=1000 + number,
                title=f"Nhiệm vụ thêm {number}",
                lead_unit_id=task("8.b").lead_unit_id if number % 3 else template.lead_unit_id,
                lead_sub_unit_id=_unit_ids()[number % len(_unit_ids())] if number % 5 == 0 else None,
                due_date=local_today() + timedelta(days=number - 10),
                recurrence=["none"],
                task_type="implement_report",
                state=TaskState.IN_PROGRESS if number % 4 else TaskState.NOT_STARTED,
            )
        )
    db.session.commit()
    to_review(task("1.a"))
    with counted_statements() as after:
        assert client.get("/dashboard").status_code == 200
        assert client.get("/plans/1/timeline").status_code == 200
    assert len(after) == len(before), (len(before), len(after))
    assert _statements_of(lambda: dashboard(local_today())) == board_before <= 10


def _unit_ids() -> list[int]:
    from app.models import Unit

    return list(db.session.scalars(select(Unit.id).order_by(Unit.id)))


def _statements_of(function) -> int:
    db.session.expire_all()
    with counted_statements() as statements:
        function()
    return len(statements)


# --- the timeline -----------------------------------------------------------------------------------


def _bars(page) -> dict[str, dict]:
    rows = {}
    for row in page.xpath("//div[@id='timeline']//div[@data-task-code]"):
        bar = row.find(".//a[@data-left]")
        rows[row.get("data-task-code")] = {
            "status": row.get("data-status"),
            "left": float(bar.get("data-left")) if bar is not None else None,
            "width": float(bar.get("data-width")) if bar is not None else None,
            "undated": bool(row.xpath(".//*[@data-undated]")),
            "lane": row.getparent().get("data-unit"),
        }
    return rows


def test_timeline_shows_every_task_as_a_bar_grouped_by_lead_unit(client, auth, worked):
    page = get_page(client, auth, "/plans/1/timeline")
    bars = _bars(page)
    tasks = plan_tasks()
    assert list(bars) == [
        t.code
        for lane in sorted({t.lead_unit.name for t in tasks})
        for t in tasks
        if t.lead_unit.name == lane
    ]
    for t in tasks:
        assert bars[t.code]["lane"] == t.lead_unit.code
        assert bars[t.code]["undated"] == (t.due_date is None), t.code
    assert {code for code, bar in bars.items() if bar["undated"]} == {"2.a", "8.c", "9.b", "10.a"}
    assert bars["4.a"]["status"] == "completed"
    assert bars["3.a"]["status"] == "running"  # started, deadline ahead
    assert bars["1.a"]["status"] == "overdue"  # started, deadline passed
    assert bars["5"]["status"] == "overdue"  # marked by the scheduler
    assert bars["1.b"]["status"] == "overdue" and bars["6"]["status"] == "cancelled"
    assert page.xpath("//a[@data-left and contains(@class, 'bar-completed')]")
    # positions: a bar ends at its deadline, today's line is where today falls in the span
    first = date.fromisoformat(page.get_element_by_id("timeline").get("data-first"))
    last = date.fromisoformat(page.get_element_by_id("timeline").get("data-last"))
    span = (last - first).days

    def at(day: date) -> float:
        return (day - first).days / span * 100

    due_3a = task("3.a").due_date
    assert bars["3.a"]["left"] + bars["3.a"]["width"] == pytest.approx(at(due_3a), abs=0.01)
    assert bars["3.a"]["left"] == pytest.approx(at(local_today()), abs=0.01)  # started today
    issued = task("1.b").plan.issued_on
    assert bars["1.b"]["left"] == pytest.approx(at(issued), abs=0.01)  # not started: from the plan's date
    today_line = page.xpath("//span[contains(@class, 'timeline-today')]")[0].get("style")
    assert f"left: {round(at(worked), 3)}%" in today_line


def test_timeline_filters_by_unit_and_section(client, auth, app):
    auth.login("cntt.tp")
    tasks = plan_tasks()
    section = task("4.a").section
    for query, expected in (
        ("unit=HTS", [t.code for t in tasks if t.lead_unit.code == "HTS"]),
        (f"section={section.id}", [t.code for t in tasks if t.section_id == section.id]),
        (
            f"unit=CNTT&section={section.id}",
            [t.code for t in tasks if t.section_id == section.id and t.lead_unit.code == "CNTT"],
        ),
    ):
        response = client.get(f"/plans/1/timeline?{query}")
        assert response.status_code == 200
        page = html.fromstring(response.get_data(as_text=True))
        assert sorted(_bars(page)) == sorted(expected) and expected, query
    page = html.fromstring(client.get("/plans/1/timeline?unit=HTS").get_data(as_text=True))
    assert page.xpath("//select[@name='unit']/option[@selected]")[0].get("value") == "HTS"
    assert {lane.get("data-unit") for lane in page.xpath("//section[@data-unit]")} == {"HTS"}


@pytest.mark.parametrize(
    "query", ["unit=NOPE", "section=abc", "section=999999", "section=99999999999999999999", "unit=%00"]
)
def test_timeline_bad_filters_answer_400_not_500(client, auth, app, query):
    auth.login("cntt.cv")
    response = client.get(f"/plans/1/timeline?{query}")
    assert response.status_code == 400
    if "%00" not in query:  # a NUL byte is refused before any view (app/input_limits.py)
        assert 'id="filter-error"' in response.get_data(as_text=True)


def test_timeline_of_an_unknown_plan_is_404(client, auth, app):
    auth.login("cntt.cv")
    assert client.get("/plans/999/timeline").status_code == 404


def test_timeline_service_span_always_contains_today(app):
    plan = task("1.a").plan
    far = date(2031, 1, 1)
    timeline = plan_timeline(plan, TimelineFilter(), far)
    assert timeline.first < far < timeline.last and 0 < timeline.today_left < 100
    assert all(
        0 <= b.left <= 100 and b.left + b.width <= 100.001 for lane in timeline.lanes for b in lane.bars
    )
