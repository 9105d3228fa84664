"""PATCH /api/v1/tasks/{id}: assignee, expected result and deadline (app.services.task_editing)."""

from __future__ import annotations

import lxml.html
import pytest
from sqlalchemy import select, text

from app.extensions import db
from app.models import AuditEvent, Task, User
from app.services.task_editing import TASK_UPDATED
from tests.audit_helpers import comparable_rows

TABLES = ("tasks", "audit_events")


def task(code: str) -> Task:
    return db.session.scalars(select(Task).where(Task.code == code)).one()


def snapshot() -> dict:
    db.session.expire_all()
    return {table: db.session.execute(text(comparable_rows(table))).all() for table in TABLES}


@pytest.fixture
def patch(client, api_token):
    tokens: dict[str, str] = {}

    def send(username: str, code: str, body, **kwargs):
        if username not in tokens:
            tokens[username] = api_token(username)
        headers = {"Authorization": f"Bearer {tokens[username]}"}
        url = f"/api/v1/tasks/{task(code).id}"
        if kwargs.get("raw"):
            return client.patch(url, data=body, headers=headers, content_type="application/json")
        return client.patch(url, json=body, headers=headers)

    return send


def ok(response) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def error(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error", "details"}
    return body


def test_set_and_clear_the_assignee(app, patch):
    assert ok(patch("cntt.tp", "1.a", {"assignee": "cntt.cv"}))["assignee"] == "cntt.cv"
    assert task("1.a").assignee.username == "cntt.cv"
    assert ok(patch("cntt.tp", "1.a", {"assignee": None}))["assignee"] is None
    assert task("1.a").assignee_id is None


def test_set_the_expected_result(app, patch):
    body = ok(patch("giamdoc", "1.a", {"expected_result": "  Kế hoạch được UBND tỉnh ban hành  "}))
    assert body["expected_result"] == "Kế hoạch được UBND tỉnh ban hành"
    assert task("1.a").expected_result == "Kế hoạch được UBND tỉnh ban hành"


def test_set_and_clear_the_deadline(app, patch):
    body = ok(patch("admin", "2.b", {"deadline": "2025-09-30"}))
    assert (body["deadline"], body["deadline_precision"]) == ("2025-09-30", "day")
    body = ok(patch("admin", "2.b", {"deadline": None}))
    assert (body["deadline"], body["deadline_precision"]) == (None, None)
    assert task("2.b").due_date is None


def test_all_three_at_once_with_one_audit_row(app, patch):
    before = task("1.a").expected_result
    ok(
        patch(
            "cntt.tp", "1.a", {"assignee": "cntt.cv", "expected_result": "Kế hoạch", "deadline": "2025-03-31"}
        )
    )
    (event,) = db.session.scalars(select(AuditEvent).where(AuditEvent.action == TASK_UPDATED)).all()
    assert (event.task_id, event.actor_username, event.actor_unit_code) == (task("1.a").id, "cntt.tp", "CNTT")
    assert event.data == {
        "before": {"assignee": None, "expected_result": before, "deadline": "2025-02-28"},
        "after": {"assignee": "cntt.cv", "expected_result": "Kế hoạch", "deadline": "2025-03-31"},
        "state": "not_started",  # the state whose permission map allowed it
    }


def test_audit_lists_only_the_fields_that_changed_and_a_no_op_writes_nothing(app, patch):
    ok(patch("cntt.tp", "1.a", {"assignee": "cntt.cv", "deadline": "2025-02-28"}))
    (event,) = db.session.scalars(select(AuditEvent).where(AuditEvent.action == TASK_UPDATED)).all()
    assert event.data == {
        "before": {"assignee": None},
        "after": {"assignee": "cntt.cv"},
        "state": "not_started",
    }
    before = snapshot()
    ok(patch("cntt.tp", "1.a", {"assignee": "cntt.cv"}))
    assert snapshot() == before


def test_the_history_shows_the_change(app, patch, client, api_token):
    ok(patch("cntt.tp", "1.a", {"assignee": "cntt.cv"}))
    history = client.get(
        f"/api/v1/tasks/{task('1.a').id}/history", headers={"Authorization": f"Bearer {api_token('giamsat')}"}
    ).get_json()["events"]
    assert [e["action"] for e in history] == [TASK_UPDATED]


def test_assignee_from_the_parent_of_a_sub_unit_or_the_sub_unit(app, patch):
    t = task("4.h")  # led by VP, sub-unit KHTC
    assert (t.lead_unit.code, t.lead_sub_unit.code) == ("VP", "KHTC")
    assert ok(patch("vp.tp", "4.h", {"assignee": "khtc.cv"}))["assignee"] == "khtc.cv"
    assert ok(patch("khtc.tp", "4.h", {"assignee": "vp.cv"}))["assignee"] == "vp.cv"


@pytest.mark.parametrize("username", ["cntt.cv", "hts.tp", "hts.cv", "giamsat", "vp.tp"])
def test_others_are_refused_and_nothing_changes(app, patch, username):
    before = snapshot()
    error(patch(username, "1.a", {"expected_result": "Khác"}), 403)
    assert snapshot() == before


def test_anonymous_is_refused(app, client):
    before = snapshot()
    assert client.patch(f"/api/v1/tasks/{task('1.a').id}", json={"expected_result": "x"}).status_code == 401
    assert snapshot() == before


def test_unknown_task_is_404(app, patch, client, api_token):
    response = client.patch(
        "/api/v1/tasks/99999",
        json={"expected_result": "x"},
        headers={"Authorization": f"Bearer {api_token('admin')}"},
    )
    error(response, 404)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"assignee": "no.such.user"}, "assignee"),
        ({"assignee": "hts.cv"}, "assignee"),  # not of the lead unit
        ({"assignee": "giamsat"}, "assignee"),  # the department is not the lead unit's parent here
        ({"expected_result": "   "}, "expected_result"),
        ({"expected_result": ""}, "expected_result"),
        ({"deadline": "2025-02-30"}, "deadline"),
        ({"deadline": "30/02/2025"}, "deadline"),
        ({"deadline": "20250301"}, "deadline"),
        ({"assignee": "cntt.cv", "deadline": "soon"}, "deadline"),  # one bad field: nothing is written
    ],
)
def test_invalid_values_are_422_and_change_nothing(app, patch, body, field):
    before = snapshot()
    details = error(patch("cntt.tp", "1.a", body), 422)["details"]
    assert set(details) == {field}
    assert snapshot() == before


def test_an_inactive_user_cannot_be_assigned(app, patch):
    db.session.scalars(select(User).where(User.username == "cntt.cv")).one().active = False
    db.session.commit()
    before = snapshot()
    assert set(error(patch("cntt.tp", "1.a", {"assignee": "cntt.cv"}), 422)["details"]) == {"assignee"}
    assert snapshot() == before


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"owner": "cntt.cv"},
        {"assignee": "cntt.cv", "state": "completed"},
        {"assignee": 5},
        {"expected_result": None},
        {"expected_result": ["a"]},
        {"deadline": 20250301},
        {"deadline": True},
        ["assignee"],
        "cntt.cv",
    ],
)
def test_malformed_bodies_are_400_and_change_nothing(app, patch, body):
    before = snapshot()
    error(patch("cntt.tp", "1.a", body), 400)
    assert snapshot() == before


def test_a_body_that_is_not_json_is_400(app, patch):
    before = snapshot()
    error(patch("cntt.tp", "1.a", "{not json", raw=True), 400)
    assert snapshot() == before


def _plan_page_gaps(client, code: str) -> list[str]:
    html = client.get(f"/plans/{task(code).plan_id}").get_data(as_text=True)
    doc = lxml.html.fromstring(html)
    (row,) = doc.xpath(f"//tr[@data-task-code='{code}']")
    return [
        span.get("data-missing") for span in row.xpath(".//td[@class='task-clears']//span[@data-missing]")
    ]


def test_five_clears_gaps_shrink_on_the_plan_page(app, patch, client, auth):
    auth.login("giamsat")
    gaps = _plan_page_gaps(client, "2.a")
    ok(patch("giamdoc", "2.a", {"assignee": "vp.cv", "expected_result": "Báo cáo rà soát hằng năm"}))
    after = _plan_page_gaps(client, "2.a")
    assert set(gaps) == {"person", "result"}  # 2.a: continuous, so its time is clear
    assert after == [""]  # the "all five clear" badge


def test_patched_task_in_the_api_list(app, patch, client, api_token):
    ok(patch("cntt.tp", "1.a", {"assignee": "cntt.cv", "expected_result": "Kế hoạch"}))
    items = client.get(
        f"/api/v1/plans/{task('1.a').plan_id}/tasks?unit=CNTT",
        headers={"Authorization": f"Bearer {api_token('hts.cv')}"},
    ).get_json()["items"]
    (item,) = [i for i in items if i["code"] == "1.a"]
    assert (item["assignee"], item["expected_result"]) == ("cntt.cv", "Kế hoạch")


def test_the_permission_map_of_the_state_decides_and_an_admin_override_is_audited(app, patch):
    """Once a task is submitted, draft_plan's map leaves its fields to admins; once completed, to nobody,
    but an admin may still correct it, audited as an override (bpmn/permissions/draft_plan.json)."""
    t1a = task("1.a")
    t1a.state = "submitted"
    db.session.commit()
    before = snapshot()
    for username in ("cntt.tp", "giamdoc"):
        assert patch(username, "1.a", {"expected_result": "Kế hoạch mới"}).status_code == 403
    assert snapshot() == before
    ok(patch("admin", "1.a", {"expected_result": "Kế hoạch mới"}))
    task("1.a").state = "completed"
    db.session.commit()
    assert patch("giamdoc", "1.a", {"expected_result": "Kế hoạch sau cùng"}).status_code == 403
    ok(patch("admin", "1.a", {"expected_result": "Kế hoạch sau cùng"}))
    query = select(AuditEvent).where(AuditEvent.action == TASK_UPDATED).order_by(AuditEvent.id)
    submitted, completed = db.session.scalars(query).all()
    assert (submitted.data["state"], "override" in submitted.data) == ("submitted", False)
    assert (completed.data["state"], completed.data["override"]) == ("completed", True)
