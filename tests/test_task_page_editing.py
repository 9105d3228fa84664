"""The task page's "5 rõ" form: the lead unit's head, leaders and admins set the assignee, the expected
result and the deadline through app.services.task_editing; everyone else sees the fields read-only."""

from __future__ import annotations

import lxml.html
import pytest
from sqlalchemy import select, text

from app.extensions import db
from app.models import AuditEvent, Task, User
from app.services.task_editing import TASK_UPDATED
from tests.conftest import csrf_token_from

TABLES = ("tasks", "audit_events")
RESULT = "Kế hoạch được UBND tỉnh ban hành"


def task(code: str = "1.a") -> Task:
    db.session.expire_all()
    return db.session.scalars(select(Task).where(Task.code == code)).one()


def snapshot() -> dict:
    db.session.expire_all()
    return {table: db.session.execute(text(f"SELECT * FROM {table} ORDER BY 1")).all() for table in TABLES}


def page(client, code: str = "1.a"):
    response = client.get(f"/tasks/{task(code).id}")
    assert response.status_code == 200
    return lxml.html.fromstring(response.get_data(as_text=True))


def post_fields(client, code: str = "1.a", **fields):
    """Send the form as a browser would: every field, the page's CSRF token."""
    html = client.get(f"/tasks/{task(code).id}").get_data(as_text=True)
    form = {"assignee": "", "expected_result": "", "deadline": "", "csrf_token": csrf_token_from(html)}
    form.update(fields)
    return client.post(f"/tasks/{task(code).id}/fields", data=form)


def by_id(doc, element_id: str) -> list:
    return doc.xpath(f'//*[@id="{element_id}"]')


def missing_on(doc, element_id: str) -> list[str]:
    """The "5 rõ" badges inside the element: the keys missing, or [""] for "all five clear"."""
    return [badge.get("data-missing") for badge in doc.xpath(f'//*[@id="{element_id}"]//*[@data-missing]')]


def field_error(doc, name: str) -> str:
    (error,) = by_id(doc, f"{name}-error")
    return error.text_content().strip()


def updates() -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == TASK_UPDATED)))


def test_the_unit_head_sees_the_form_with_only_the_lead_unit_s_people(app, client, auth):
    auth.login("cntt.tp")
    doc = page(client)
    (form,) = by_id(doc, "task-fields-form")
    options = [option.get("value") for option in form.xpath('.//select[@name="assignee"]/option')]
    assert options[0] == "" and {"cntt.cv", "cntt.tp"} <= set(options)
    assert "hts.cv" not in options and "vp.cv" not in options
    assert form.xpath('.//input[@name="deadline"]')[0].get("type") == "date"
    assert form.xpath('.//input[@name="deadline"]')[0].get("value") == "2025-02-28"
    assert missing_on(doc, "task-fields-missing") == ["person", "result"]


def test_setting_the_missing_clears_saves_audits_and_shows_them(app, client, auth):
    auth.login("cntt.tp")
    response = post_fields(client, assignee="cntt.cv", expected_result=f"  {RESULT} ", deadline="2025-03-31")
    assert response.status_code == 302 and response.location.endswith(f"/tasks/{task().id}")

    saved = task()
    assert (saved.assignee.username, saved.expected_result, saved.due_date.isoformat()) == (
        "cntt.cv",
        RESULT,
        "2025-03-31",
    )
    (event,) = updates()
    assert event.actor_username == "cntt.tp" and event.task_id == saved.id
    assert event.data["after"] == {"assignee": "cntt.cv", "expected_result": RESULT, "deadline": "2025-03-31"}
    assert event.data["before"] == {"assignee": None, "expected_result": None, "deadline": "2025-02-28"}

    doc = page(client)
    assert "Đã lưu thông tin nhiệm vụ." in doc.text_content()
    assert saved.assignee.full_name in by_id(doc, "task-assignee")[0].text_content()
    assert RESULT in by_id(doc, "task-result")[0].text_content()
    assert "31/03/2025" in by_id(doc, "task-deadline")[0].text_content()
    assert missing_on(doc, "task-clears") == [""]  # "all five clear"
    assert not by_id(doc, "task-fields-missing")
    assert [row.get("data-action") for row in doc.xpath('//*[@id="history"]/li')] == [TASK_UPDATED]


@pytest.mark.parametrize("username", ["giamdoc", "admin"])
def test_leaders_and_admins_may_set_them_too(app, client, auth, username):
    auth.login(username)
    assert (
        post_fields(client, assignee="cntt.tp", expected_result=RESULT, deadline="2025-02-28").status_code
        == 302
    )
    assert task().assignee.username == "cntt.tp" and task().expected_result == RESULT
    assert [e.actor_username for e in updates()] == [username]


def test_clearing_the_deadline_shows_it_missing(app, client, auth):
    auth.login("cntt.tp")
    assert post_fields(client, expected_result=RESULT).status_code == 302
    assert task().due_date is None and task().due_precision is None
    assert "time" in missing_on(page(client), "task-clears")


def test_a_form_that_changes_nothing_writes_nothing(app, client, auth):
    auth.login("cntt.tp")
    before = snapshot()
    response = post_fields(client, deadline="2025-02-28")
    assert response.status_code == 302
    assert snapshot() == before
    assert "Không có gì thay đổi." in page(client).text_content()


def test_an_unchanged_month_precise_deadline_keeps_its_precision(app, client, auth):
    month_task = db.session.scalars(select(Task).where(Task.due_precision == "month")).first()
    if month_task is None:
        pytest.skip("the demo plan has no month-precise deadline")
    auth.login("admin")
    response = post_fields(
        client, month_task.code, expected_result=RESULT, deadline=month_task.due_date.isoformat()
    )
    assert response.status_code == 302
    assert task(month_task.code).due_precision == "month"


@pytest.mark.parametrize(
    ("fields", "name", "message"),
    [
        ({"deadline": "31/03/2025", "expected_result": RESULT}, "deadline", "Hãy nhập một ngày hợp lệ."),
        ({"deadline": "2025-02-30", "expected_result": RESULT}, "deadline", "Hãy nhập một ngày hợp lệ."),
        (
            {"assignee": "hts.cv", "expected_result": RESULT},
            "assignee",
            "Hãy chọn một người thuộc đơn vị chủ trì",
        ),
        (
            {"assignee": "nobody", "expected_result": RESULT},
            "assignee",
            "Hãy chọn một người dùng đang hoạt động",
        ),
        ({"expected_result": "x" * 4001}, "expected_result", "Tối đa 4000 ký tự."),
    ],
)
def test_wrong_values_are_shown_in_vietnamese_and_nothing_is_saved(app, client, auth, fields, name, message):
    auth.login("cntt.tp")
    before = snapshot()
    response = post_fields(client, **{"deadline": "2025-02-28", **fields})
    assert response.status_code == 422
    doc = lxml.html.fromstring(response.get_data(as_text=True))
    assert message in field_error(doc, name)
    assert by_id(doc, "task-fields-errors")
    assert snapshot() == before


def test_the_expected_result_cannot_be_cleared_and_what_was_typed_stays(app, client, auth):
    auth.login("cntt.tp")
    assert post_fields(client, expected_result=RESULT, deadline="2025-02-28").status_code == 302
    before = snapshot()
    response = post_fields(client, assignee="cntt.cv", expected_result="   ", deadline="2025-04-15")
    assert response.status_code == 422
    doc = lxml.html.fromstring(response.get_data(as_text=True))
    assert field_error(doc, "expected_result") == "Không được để trống kết quả dự kiến."
    assert doc.xpath('//select[@name="assignee"]/option[@selected]')[0].get("value") == "cntt.cv"
    assert doc.xpath('//input[@name="deadline"]')[0].get("value") == "2025-04-15"
    assert snapshot() == before


@pytest.mark.parametrize("username", ["cntt.cv", "hts.cv", "hts.tp", "vp.tp", "giamsat"])
def test_others_see_the_fields_read_only_and_are_refused(app, client, auth, username):
    auth.login(username)
    doc = page(client)
    assert not by_id(doc, "task-fields-form")
    assert by_id(doc, "task-assignee") and by_id(doc, "task-result")
    assert missing_on(doc, "task-clears") == ["person", "result"]  # the gaps are shown to everyone
    before = snapshot()
    token = csrf_token_from(client.get("/plans").get_data(as_text=True))
    response = client.post(
        f"/tasks/{task().id}/fields",
        data={
            "assignee": "cntt.cv",
            "expected_result": RESULT,
            "deadline": "2025-03-31",
            "csrf_token": token,
        },
    )
    assert response.status_code == 403
    assert snapshot() == before


def test_without_the_csrf_token_nothing_is_saved(app, client, auth):
    auth.login("cntt.tp")
    before = snapshot()
    response = client.post(
        f"/tasks/{task().id}/fields", data={"assignee": "cntt.cv", "expected_result": RESULT, "deadline": ""}
    )
    assert response.status_code == 400
    assert snapshot() == before


def test_an_unknown_task_is_a_404(app, client, auth):
    auth.login("cntt.tp")
    token = csrf_token_from(client.get("/plans").get_data(as_text=True))
    assert client.post("/tasks/999999/fields", data={"csrf_token": token}).status_code == 404


def test_an_assignee_outside_the_lead_unit_is_kept_when_other_fields_are_saved(app, client, auth):
    """Someone assigned before they moved unit stays selected; saving the result does not drop them."""
    moved = task()
    moved.assignee = db.session.scalar(select(User).where(User.username == "hts.cv"))
    db.session.commit()
    auth.login("cntt.tp")
    doc = page(client)
    assert doc.xpath('//select[@name="assignee"]/option[@selected]')[0].get("value") == "hts.cv"
    assert len(doc.xpath('//input[@name="csrf_token"]')) == len(doc.xpath("//form[@method='post']"))
    response = post_fields(client, assignee="hts.cv", expected_result=RESULT, deadline="2025-02-28")
    assert response.status_code == 302
    assert (task().assignee.username, task().expected_result) == ("hts.cv", RESULT)
