"""The number of SQL statements a page runs does not grow with what it lists (no N+1 queries).

Each test measures a page (and its API twin) on the demo with a few rows of what it lists, adds more
of them through the engine and the services (processes started and advanced, history made by returns
and hand-overs, versions deployed, accounts and communes created) or as plain rows (tasks, audit rows,
notifications; tests/query_count_data.py makes them), and asserts the same count, exactly
(tests/query_count_helpers.py counts; a failure prints both lists of statements). The growth keeps the
shape of what is listed (a held step, a hand-over, a lead sub-unit... are there before and after), so
a difference can only come from reading per row.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from app.extensions import db
from app.models import Role
from app.models.commune_plans import PlanFramework
from app.services.audit_queries import audit_page, parse_filters
from tests.query_count_data import (
    add_indicators,
    add_tasks,
    audit_rows,
    complete,
    demo_user,
    deploy_versions,
    drive,
    hand_over_and_approve,
    leader_returns,
    new_accounts,
    new_communes,
    notify,
    open_steps,
    plan_id,
    return_and_redo,
    submit_commune_plan,
)
from tests.query_count_helpers import Page, assert_constant
from workflows.assignment import claim


def bearer(api_token, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token(username)}"}


def test_worklist_and_api_worklist(app, client, auth, api_token):
    """cntt.cv's open steps: drafts of the unit, one taken, an outside body's opinion to record."""
    drive("1.a", "collect_opinions")  # VP's opinion, and SO_NGANH_DP's recorded by CNTT's specialist
    claim(open_steps(drive("1.b", "draft"))[0], demo_user("cntt.cv"))
    headers = bearer(api_token, "cntt.cv")
    auth.login("cntt.cv")

    def grow():
        for code in ("3.c", "4.b", "5"):
            drive(code, "draft")
        claim(open_steps(drive("7.b", "draft"))[0], demo_user("cntt.cv"))
        drive("9.a", "collect_opinions")
        for code in ("3.b", "4.a"):  # another process (implement_report)
            drive(code, "record_progress")

    assert_constant(client, [Page("/worklist"), Page("/api/v1/worklist", headers)], grow)
    items = client.get("/api/v1/worklist", headers=headers).get_json()["items"]
    assert len(items) >= 8 and {"1.a", "9.a", "3.b"} <= {item["task_code"] for item in items}


def test_plan_page_and_api_plan_tasks_with_filters(app, client, auth, api_token):
    """The plan's tasks, all and filtered by lead unit and by state, with their open steps."""
    drive("1.a", "collect_opinions")
    drive("1.b", "review_draft")
    add_tasks(4)  # a task of each shape (with a lead sub-unit, an assignee...) is listed from the start
    headers = bearer(api_token, "giamsat")
    auth.login("giamsat")
    plan = plan_id()
    pages = [
        Page(f"/plans/{plan}"),
        Page(f"/plans/{plan}?unit=CNTT"),
        Page(f"/plans/{plan}?state=reviewing"),
        Page(f"/api/v1/plans/{plan}/tasks", headers),
        Page(f"/api/v1/plans/{plan}/tasks?unit=CNTT", headers),
        Page(f"/api/v1/plans/{plan}/tasks?state=reviewing", headers),
    ]

    def grow():
        add_tasks(12)
        drive("3.c", "collect_opinions")
        drive("4.a", "record_progress")
        for code in ("4.b", "5", "7.b"):
            drive(code, "review_draft")

    assert_constant(client, pages, grow)
    listed = client.get(f"/api/v1/plans/{plan}/tasks?unit=CNTT", headers=headers).get_json()["items"]
    assert len(listed) >= 20 and sum(bool(task["open_steps"]) for task in listed) >= 7
    reviewing = client.get(f"/api/v1/plans/{plan}/tasks?state=reviewing", headers=headers).get_json()
    assert {task["code"] for task in reviewing["items"]} == {"1.b", "4.b", "5", "7.b"}


def task_pages(task_id, headers) -> list[Page]:
    return [
        Page(f"/tasks/{task_id}"),
        Page(f"/api/v1/tasks/{task_id}", headers),
        Page(f"/api/v1/tasks/{task_id}/history", headers),
    ]


def test_task_page_api_task_and_history_as_the_history_grows(app, client, auth, api_token):
    """Task 1.a's page, its API twin and its history, waiting for the leader: returned once, then
    five times more (each return, hand-over and completion is a history row)."""
    task = drive("1.a", "leader_approval")
    leader_returns(task, 1)
    headers = bearer(api_token, "giamdoc")
    auth.login("giamdoc")

    assert_constant(client, task_pages(task.id, headers), lambda: leader_returns(task, 5))
    history = client.get(f"/api/v1/tasks/{task.id}/history", headers=headers).get_json()["events"]
    assert sum(event["action"] == "step.returned" for event in history) == 6
    assert [
        step["step"]
        for step in client.get(f"/api/v1/tasks/{task.id}", headers=headers).get_json()["open_steps"]
    ] == ["leader_approval"]


def test_task_page_api_task_and_history_with_more_open_steps(app, client, auth, api_token):
    """A task asking two units for their opinion, then one asking five (after returns and hand-overs)."""
    shown = {"task": drive("1.a", "review_draft")}
    hand_over_and_approve(shown["task"])  # consults VP and SO_NGANH_DP (tests/engine_helpers.py)
    headers = bearer(api_token, "cntt.tp")
    auth.login("cntt.tp")

    def grow():
        task = drive("1.b", "review_draft")
        return_and_redo(task, 2)
        complete(open_steps(task, "review_draft")[0], "Bổ sung đơn vị lấy ý kiến", decision="return")
        units = ["VP", "TTCNTT", "HTS", "QLKH", "SO_NGANH_DP"]
        complete(open_steps(task, "draft")[0], consulted_units=units)
        hand_over_and_approve(task)
        shown["task"] = task

    pages = [
        Page(lambda: f"/tasks/{shown['task'].id}"),
        Page(lambda: f"/api/v1/tasks/{shown['task'].id}", headers),
        Page(lambda: f"/api/v1/tasks/{shown['task'].id}/history", headers),
    ]
    assert_constant(client, pages, grow)
    task_page = client.get(f"/api/v1/tasks/{shown['task'].id}", headers=headers).get_json()
    assert len(task_page["open_steps"]) == 5


AUDIT_FILTER = "unit=CNTT&action=step.completed&action=step.returned&since=2025-01-01"


def later_page(query: str) -> str:
    """The cursor of the page after the first (50 rows) for these filters, as the page links to it."""
    filters = parse_filters(MultiDict(parse_qsl(query)))
    cursor = audit_page(filters).next_cursor
    assert cursor is not None
    return cursor


def test_audit_page_and_api_with_filters_and_a_later_page(app, client, auth, api_token):
    drive("1.a", "collect_opinions")
    audit_rows(120)  # 72 of CNTT's people: a second page of 22
    headers = bearer(api_token, "giamsat")
    auth.login("giamsat")
    pages = [
        Page(f"/audit?{AUDIT_FILTER}"),
        Page(lambda: f"/audit?{AUDIT_FILTER}&cursor={later_page(AUDIT_FILTER)}"),
        Page("/audit?task=1.a"),
        Page(f"/api/v1/audit?{AUDIT_FILTER}", headers),
        Page(lambda: f"/api/v1/audit?{AUDIT_FILTER}&cursor={later_page(AUDIT_FILTER)}", headers),
        Page("/api/v1/audit?task=1.a&limit=200", headers),
    ]

    def grow():
        audit_rows(400)
        drive("1.b", "collect_opinions")
        return_and_redo(drive("3.c", "review_draft"), 3)

    assert_constant(client, pages, grow)
    second = client.get(f"/api/v1/audit?{AUDIT_FILTER}&cursor={later_page(AUDIT_FILTER)}", headers=headers)
    assert len(second.get_json()["events"]) == 50


def test_dashboard_and_plan_timeline(app, client, auth):
    """Counts by unit and state, overdue and due-soon lists, recent activity (for one plan also by
    section and its "5 rõ" gaps: tests/test_dashboard_scale.py), and the plan's timeline (a lane per lead
    unit, a bar per task)."""
    drive("1.a", "collect_opinions")
    add_tasks(4)
    auth.login("giamdoc")
    plan = plan_id()
    pages = [Page("/dashboard"), Page(f"/plans/{plan}/timeline"), Page(f"/plans/{plan}/timeline?unit=CNTT")]

    def grow():
        add_tasks(30)
        drive("1.b", "collect_opinions")
        drive("4.a", "record_progress")
        audit_rows(40)

    assert_constant(client, pages, grow)
    # the lists show their most urgent tasks (app.services.dashboard_lists.TOP each), not all 34 added
    page = client.get("/dashboard").get_data(as_text=True)
    overdue = page.split('id="overdue-list"')[1].split("</ul>")[0]
    assert overdue.count('data-task-code="') == 10 and page.count('data-task-code="') <= 20


def test_indicator_tracking(app, client, auth):
    add_indicators(2)
    auth.login("giamdoc")
    assert_constant(client, [Page(f"/plans/{plan_id()}/indicators/tracking")], lambda: add_indicators(15))
    assert (
        client.get(f"/plans/{plan_id()}/indicators/tracking").get_data(as_text=True).count("Đơn vị theo dõi")
        == 17
    )


def test_notifications_page(app, client, auth):
    for code in ("1.a", "1.b", "3.c"):
        drive(code, "draft")
    notify("cntt.cv", 4)
    auth.login("cntt.cv")
    assert_constant(client, [Page("/notifications")], lambda: notify("cntt.cv", 60))
    assert client.get("/notifications").get_data(as_text=True).count("data-notification-id") == 64


def test_admin_process_list(app, client, auth):
    """Versions with their deployer and instances, drafts with who saved them."""
    deploy_versions(1, [demo_user("admin"), *new_accounts(1, Role.ADMIN)])
    auth.login("admin")
    grow = lambda: deploy_versions(6, new_accounts(3, Role.ADMIN))  # noqa: E731
    assert_constant(client, [Page("/admin/processes")], grow)
    assert client.get("/admin/processes").get_data(as_text=True).count('data-draft-id="') == 5


def test_admin_users_list(app, client, auth):
    new_accounts(2)
    auth.login("admin")
    pages = [Page("/admin/users"), Page("/admin/users?q=ng&status=active"), Page("/admin/units")]
    assert_constant(client, pages, lambda: new_accounts(30))
    assert client.get("/admin/users").get_data(as_text=True).count('data-username="nguoi') == 32


def test_commune_framework_overview(app, client, auth, api_token):
    """The department's view of a framework: every commune with where its plan stands and its dates."""
    submit_commune_plan(client, api_token, "pthd")
    new_communes(1)
    framework = db.session.scalars(select(PlanFramework.id)).one()
    auth.login("giamdoc")

    def grow():
        submit_commune_plan(client, api_token, "xat")
        new_communes(8)
        new_communes(4, with_plans=False)

    pages = [
        Page(f"/commune-plans/frameworks/{framework}"),
        Page(f"/commune-plans/frameworks/{framework}/targets"),
        Page(f"/api/v1/plan-frameworks/{framework}/commune-plans", bearer(api_token, "giamdoc")),
    ]
    assert_constant(client, pages, grow)
    page = client.get(f"/commune-plans/frameworks/{framework}").get_data(as_text=True)
    assert page.count('<tr data-commune="') == 16
