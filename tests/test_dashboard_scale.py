"""The dashboard at provincial scale: each list shows its most urgent tasks with the list's total and a
link to the whole list, which pages through every task once, for every plan, one plan or one unit; the
numbers come from grouped counts; nothing on the page grows with the number of tasks.

The demo's plan has deadlines in 2025, so most of its open tasks are overdue; the tests add tasks
(tests/query_count_data.add_tasks: deadlines from ten days ago to ten days ahead) and tasks of their own.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from lxml import html
from sqlalchemy import select

from app.extensions import db
from app.models import Plan, PlanSection, Task, TaskState, Unit
from app.models.plans import TaskKind
from app.services.clock import local_today
from app.services.dashboard import TOP_UNITS
from app.services.dashboard_lists import DUE_SOON_DAYS, PAGE_SIZE, TOP
from tests.query_count_data import add_tasks, plan_id
from tests.query_count_helpers import Page, assert_constant

CLOSED = TaskState.CLOSED


def plan_tasks(**where) -> list[Task]:
    db.session.expire_all()
    query = select(Task).where(Task.kind == TaskKind.PLAN)
    for name, value in where.items():
        query = query.where(getattr(Task, name) == value)
    return list(db.session.scalars(query))


def overdue_in_order(tasks: list[Task], today: date) -> list[Task]:
    """What the overdue list should hold, in its order: past their deadline (the earliest first), then
    marked overdue by the scheduler with a later deadline or none, each by id."""
    late = [t for t in tasks if t.state not in CLOSED and t.due_date is not None and t.due_date < today]
    marked = [t for t in tasks if t.state not in CLOSED and t.due_status == "overdue" and t not in late]
    return sorted(late, key=lambda t: (t.due_date, t.id)) + sorted(
        marked, key=lambda t: (t.due_date is None, t.due_date or date.max, t.id)
    )


def due_soon_in_order(tasks: list[Task], today: date) -> list[Task]:
    end = today + timedelta(days=DUE_SOON_DAYS)
    soon = [t for t in tasks if t.state not in CLOSED and t.due_date and today <= t.due_date <= end]
    return sorted(soon, key=lambda t: (t.due_date, t.id))


def page_of(client, url: str, status: int = 200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return html.fromstring(response.get_data(as_text=True))


def listed(page, element_id: str) -> list[str]:
    return [li.get("data-task-id") or li.get("data-task-code") for li in page.get_element_by_id(element_id)]


def whole_list(client, url: str) -> list[int]:
    """Every task id of a full list, following its "next page" links to the end."""
    ids, seen_pages = [], 0
    while url:
        page = page_of(client, url)
        ids += [
            int(row.get("data-task-id")) for row in page.xpath("//table[@id='task-list']//tr[@data-task-id]")
        ]
        following = page.xpath("//a[@id='next-page']")
        url = following[0].get("href") if following else None
        seen_pages += 1
        assert seen_pages < 50
    return ids


@pytest.fixture
def many(app):
    """The demo plus 130 tasks (65 led by CNTT), some of them marked overdue by the scheduler while
    their deadline is ahead (a late step), one with no deadline, and some closed."""
    add_tasks(130)
    today = local_today()
    extra = plan_tasks(plan_id=plan_id())
    for number, task in enumerate(t for t in extra if t.code.startswith("N.")):
        if number % 17 == 0:
            task.due_status = "overdue"
            task.due_date = None if number == 0 else today + timedelta(days=5)
        elif number % 11 == 0:
            task.state = TaskState.COMPLETED
        elif number % 13 == 0:
            task.state = TaskState.CANCELLED
        elif number % 3 == 0:
            task.state = TaskState.IN_PROGRESS
    db.session.commit()
    return today


def test_each_list_shows_its_most_urgent_tasks_with_the_total(client, auth, many):
    auth.login("giamdoc")
    page = page_of(client, "/dashboard")
    tasks = plan_tasks()
    overdue, soon = overdue_in_order(tasks, many), due_soon_in_order(tasks, many)
    assert len(overdue) > PAGE_SIZE and len(soon) > TOP  # more than a list shows
    codes = [li.get("data-task-code") for li in page.get_element_by_id("overdue-list")]
    assert codes == [t.code for t in overdue[:TOP]]
    assert page.get_element_by_id("overdue-heading").find("span").text_content() == str(len(overdue))
    summary = page.xpath("//div[@data-summary='overdue']/dd")[0].text_content().strip()
    assert summary == str(len(overdue))
    codes = [li.get("data-task-code") for li in page.get_element_by_id("due-soon-list")]
    assert codes == [t.code for t in soon[:TOP]]
    assert page.xpath("//div[@data-summary='due_soon']/dd")[0].text_content().strip() == str(len(soon))
    assert page.get_element_by_id("due-soon-list-all").get("href") == "/dashboard/tasks?show=due_soon"


def test_the_whole_lists_page_through_every_task_once_in_order(client, auth, many):
    auth.login("cntt.cv")  # every signed-in user reads the dashboard
    tasks = plan_tasks()
    overdue = overdue_in_order(tasks, many)
    ids = whole_list(client, "/dashboard/tasks?show=overdue")
    assert ids == [t.id for t in overdue]  # no task twice, none left out, the marked ones last
    assert overdue[-1].due_status == "overdue" and overdue[-1].due_date is None
    assert whole_list(client, "/dashboard/tasks?show=due_soon") == [
        t.id for t in due_soon_in_order(tasks, many)
    ]
    first = page_of(client, "/dashboard/tasks?show=overdue")
    pages = -(-len(overdue) // PAGE_SIZE)
    assert first.get_element_by_id("list-summary").text_content().split()[:2] == [str(len(overdue)), "nhiệm"]
    assert f"1/{pages}" in first.get_element_by_id("list-summary").text_content()
    last = page_of(client, f"/dashboard/tasks?show=overdue&page={pages}")
    assert last.xpath("//a[@id='previous-page']") and not last.xpath("//a[@id='next-page']")
    beyond = page_of(client, f"/dashboard/tasks?show=overdue&page={pages + 1}")
    assert beyond.get_element_by_id("list-empty") is not None


def test_a_unit_s_overdue_count_leads_to_its_overdue_tasks(client, auth, many):
    auth.login("giamsat")
    page = page_of(client, "/dashboard")
    cntt = db.session.scalar(select(Unit).where(Unit.code == "CNTT"))
    cell = page.xpath("//table[@id='table-units']//tr[@data-key='CNTT']/td[@data-col='overdue']/a")[0]
    assert cell.get("href") == "/dashboard/tasks?show=overdue&unit=CNTT"
    expected = [t.id for t in overdue_in_order(plan_tasks(lead_unit_id=cntt.id), many)]
    assert cell.text_content() == str(len(expected)) and len(expected) > TOP
    assert whole_list(client, cell.get("href")) == expected
    scoped = page_of(client, cell.get("href"))
    assert [chip.get("data-scope") for chip in scoped.xpath("//*[@data-scope]")] == ["plan", "unit"]


def test_one_plan_s_overview_shows_its_sections_gaps_and_lists(client, auth, many):
    other = Plan(
        source_key="other-plan", issuer_name="Sở KH&CN", doc_type="Kế hoạch", number_symbol="/KH-X",
        issued_on=date(2026, 1, 5), title="Kế hoạch khác",
    )  # fmt: skip
    other.sections = [PlanSection(number="1", heading="Nhóm 1", position=1)]
    db.session.add(other)
    db.session.flush()
    unit = db.session.scalar(select(Unit).where(Unit.code == "HTS"))
    db.session.add(
        Task(
            plan=other, section=other.sections[0], code="Z.1", position=1, title="Nhiệm vụ kế hoạch khác",
            lead_unit=unit, due_date=date(2020, 1, 1), recurrence=["none"], state="not_started",
        )
    )  # fmt: skip
    db.session.commit()
    auth.login("giamdoc")
    everything = page_of(client, "/dashboard")
    assert listed(everything, "overdue-list")[0] == "Z.1"  # the longest overdue of every plan
    assert everything.get_element_by_id("gap-tasks").tag == "p"  # choose a plan to see the "5 rõ"
    assert not everything.xpath("//*[@id='table-sections']")
    one = page_of(client, f"/dashboard?plan={plan_id()}")
    assert "Z.1" not in listed(one, "overdue-list")
    expected = overdue_in_order(plan_tasks(plan_id=plan_id()), many)
    assert listed(one, "overdue-list") == [t.code for t in expected[:TOP]]
    assert (
        one.get_element_by_id("overdue-list-all").get("href")
        == f"/dashboard/tasks?show=overdue&plan={plan_id()}"
    )
    sections = one.xpath("//table[@id='table-sections']//tr[@data-key]")
    assert len(sections) == len(db.session.get(Plan, plan_id()).sections)
    assert len(listed(one, "gap-tasks")) == TOP
    chosen = one.xpath("//select[@id='dashboard-plan']/option[@selected]")[0]
    assert chosen.get("value") == str(plan_id())
    totals = {
        div.get("data-summary"): div.find("dd").text_content().strip()
        for div in one.xpath("//div[@data-summary]")
    }
    assert totals["tasks"] == str(len(plan_tasks(plan_id=plan_id())))
    assert int(totals["tasks"]) + 1 == int(
        everything.xpath("//div[@data-summary='tasks']/dd")[0].text_content().strip()
    )


def test_the_units_with_the_most_overdue_tasks_are_shown_first(client, auth, many):
    auth.login("giamdoc")
    tasks = plan_tasks()
    page = page_of(client, "/dashboard")
    rows = page.xpath("//table[@id='table-units']//tr[@data-key]")
    units = {t.lead_unit_id for t in tasks}
    assert len(units) > TOP_UNITS and len(rows) == TOP_UNITS
    shown = [int(row.find("td[@data-col='overdue']").text_content()) for row in rows]
    assert shown == sorted(shown, reverse=True) and shown[0] == max(
        len(overdue_in_order([t for t in tasks if t.lead_unit_id == u], many)) for u in units
    )
    assert page.get_element_by_id("units-shown").text_content().count(str(len(units))) == 1
    every = page_of(client, page.get_element_by_id("all-units").get("href"))
    assert len(every.xpath("//table[@id='table-units']//tr[@data-key]")) == len(units)
    # the summary counts every unit's tasks, not only the rows shown
    assert page.xpath("//div[@data-summary='tasks']/dd")[0].text_content().strip() == str(len(tasks))


def test_the_page_does_not_grow_with_the_tasks(client, auth, app):
    """Statements constant; what is listed is capped: adding 200 tasks adds no list row."""
    add_tasks(40)
    auth.login("giamsat")
    pages = [
        Page("/dashboard"),
        Page(f"/dashboard?plan={plan_id()}"),
        Page("/dashboard/tasks?show=overdue"),
        Page("/dashboard/tasks?show=due_soon&unit=CNTT&page=1"),
        Page(f"/dashboard/tasks?show=gaps&plan={plan_id()}"),
    ]
    before = client.get(f"/dashboard?plan={plan_id()}").get_data(as_text=True).count("data-task-code=")
    assert_constant(client, pages, lambda: add_tasks(200))
    after = client.get(f"/dashboard?plan={plan_id()}").get_data(as_text=True).count("data-task-code=")
    assert after == before == 3 * TOP  # overdue, due soon, "5 rõ" gaps


@pytest.mark.parametrize(
    "query",
    [
        "show=nope",
        "plan=abc",
        "plan=99999",
        "plan=1e3",
        "plan=999999999999999999999",
        "unit=NOPE",
        "unit=" + "X" * 300,
        "page=0",
        "page=-1",
        "page=abc",
        "page=99999999",
        "show=gaps",
        "show=gaps&plan=abc",
    ],
)
def test_bad_list_parameters_answer_400(client, auth, app, query):
    auth.login("cntt.cv")
    response = client.get(f"/dashboard/tasks?{query}")
    assert response.status_code == 400
    assert 'id="list-errors"' in response.get_data(as_text=True)


@pytest.mark.parametrize(("query", "status"), [("plan=abc", 400), ("plan=99999", 404), ("plan=-3", 400)])
def test_bad_dashboard_plan_answers_4xx(client, auth, app, query, status):
    auth.login("cntt.cv")
    assert client.get(f"/dashboard?{query}").status_code == status


def test_anonymous_visitors_are_sent_to_sign_in(client, app):
    response = client.get("/dashboard/tasks?show=overdue")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
