"""Recording the central guidance a task waits for (9.b, led by Văn phòng Sở): on the task page and with
POST /api/v1/tasks/{id}/guidance, by the lead unit's head, leaders and admins only."""

from __future__ import annotations

import lxml.html
import pytest
from sqlalchemy import select, text

from app.extensions import db
from app.models import AuditEvent, Task, TaskState
from app.services.task_types import GUIDANCE_RECEIVED
from tests.audit_helpers import comparable_rows
from tests.conftest import csrf_token_from

TABLES = ("tasks", "audit_events", "process_instances", "work_items")
NOTE = "Số 12/2025/TT-BKHCN, ngày 05/03/2025: hướng dẫn xây dựng kế hoạch"


def task(code: str = "9.b") -> Task:
    db.session.expire_all()
    return db.session.scalars(select(Task).where(Task.code == code)).one()


def snapshot() -> dict:
    db.session.expire_all()
    return {table: db.session.execute(text(comparable_rows(table))).all() for table in TABLES}


def by_id(doc, element_id: str) -> list:
    return doc.xpath(f'//*[@id="{element_id}"]')


def guidance_events() -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == GUIDANCE_RECEIVED)))


# --- the task page ----------------------------------------------------------------------------------


def page(client, code: str = "9.b"):
    response = client.get(f"/tasks/{task(code).id}")
    assert response.status_code == 200
    return lxml.html.fromstring(response.get_data(as_text=True))


def post_guidance(client, code: str = "9.b", **fields):
    token = csrf_token_from(client.get(f"/tasks/{task(code).id}").get_data(as_text=True))
    form = {"number": "12/2025/TT-BKHCN", "issued": "2025-03-05", "summary": "hướng dẫn xây dựng kế hoạch"}
    form.update(fields, csrf_token=token)
    return client.post(f"/tasks/{task(code).id}/guidance", data=form)


def test_the_lead_unit_head_records_the_guidance_on_the_task_page(app, client, auth):
    assert task().state == TaskState.WAITING_GUIDANCE
    auth.login("vp.tp")
    doc = page(client)
    (card,) = by_id(doc, "guidance-card")
    assert "Ghi nhận hướng dẫn của Trung ương" in card.text_content()
    assert by_id(doc, "guidance-form") and not by_id(doc, "start-process")

    response = post_guidance(client)
    assert response.status_code == 302 and response.location.endswith(f"/tasks/{task().id}")
    assert task().state == TaskState.NOT_STARTED
    (event,) = guidance_events()
    assert (event.actor_username, event.comment) == ("vp.tp", NOTE)
    assert (event.from_state, event.to_state) == (TaskState.WAITING_GUIDANCE, TaskState.NOT_STARTED)

    doc = page(client)
    assert "Đã ghi nhận hướng dẫn của Trung ương" in doc.text_content()
    assert not by_id(doc, "guidance-card")
    assert by_id(doc, "start-process")  # the process may now start
    assert NOTE in by_id(doc, "history")[0].text_content()


@pytest.mark.parametrize("username", ["giamdoc", "admin"])
def test_leaders_and_admins_record_it_too(app, client, auth, username):
    auth.login(username)
    assert post_guidance(client, summary="").status_code == 302
    assert task().state == TaskState.NOT_STARTED
    assert [e.comment for e in guidance_events()] == ["Số 12/2025/TT-BKHCN, ngày 05/03/2025"]


@pytest.mark.parametrize("username", ["vp.cv", "cntt.tp", "hts.cv", "giamsat"])
def test_others_see_why_it_waits_but_no_form_and_are_refused(app, client, auth, username):
    auth.login(username)
    doc = page(client)
    assert by_id(doc, "guidance-card") and by_id(doc, "guidance-read-only")
    assert not by_id(doc, "guidance-form")
    before = snapshot()
    assert post_guidance(client).status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize(
    ("fields", "name", "message"),
    [
        ({"number": "  "}, "number", "Hãy nhập số văn bản hướng dẫn."),
        ({"issued": ""}, "issued", "Hãy nhập ngày ban hành văn bản hướng dẫn."),
        ({"issued": "05/03/2025"}, "issued", "Hãy nhập một ngày hợp lệ."),
        ({"summary": "x" * 5000}, "summary", "Tối đa 3800 ký tự."),
    ],
)
def test_a_missing_or_wrong_field_is_shown_and_nothing_changes(app, client, auth, fields, name, message):
    auth.login("vp.tp")
    before = snapshot()
    response = post_guidance(client, **fields)
    assert response.status_code == 422
    doc = lxml.html.fromstring(response.get_data(as_text=True))
    (error,) = by_id(doc, f"{name}-error")
    assert error.text_content().strip() == message
    assert by_id(doc, "guidance-errors")
    assert snapshot() == before


def test_a_task_that_does_not_wait_has_no_form_and_nothing_changes(app, client, auth):
    auth.login("cntt.tp")
    assert not by_id(page(client, "1.a"), "guidance-card")
    before = snapshot()
    response = post_guidance(client, "1.a")
    assert response.status_code == 302
    assert snapshot() == before
    assert "Nhiệm vụ này không chờ hướng dẫn của Trung ương." in page(client, "1.a").text_content()


# --- the API ----------------------------------------------------------------------------------------


@pytest.fixture
def send(client, api_token):
    tokens: dict[str, str] = {}

    def post(username: str, body, code: str = "9.b", task_id: int | None = None):
        if username not in tokens:
            tokens[username] = api_token(username)
        url = f"/api/v1/tasks/{task_id or task(code).id}/guidance"
        return client.post(url, json=body, headers={"Authorization": f"Bearer {tokens[username]}"})

    return post


@pytest.mark.parametrize("username", ["vp.tp", "giamdoc", "admin"])
def test_api_records_the_guidance(app, send, username):
    response = send(username, {"note": f"  {NOTE} "})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["code"], body["state"]) == ("9.b", TaskState.NOT_STARTED)
    (event,) = guidance_events()
    assert (event.actor_username, event.comment, event.task_id) == (username, NOTE, task().id)


def test_api_the_task_may_be_started_only_after_the_guidance(app, client, api_token, send):
    headers = {"Authorization": f"Bearer {api_token('vp.tp')}"}
    start = f"/api/v1/tasks/{task().id}/start"
    assert client.post(start, headers=headers).status_code == 409
    assert send("vp.tp", {"note": NOTE}).status_code == 200
    response = client.post(start, headers=headers)
    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize("username", ["giamsat", "vp.cv", "cntt.tp", "hts.cv"])
def test_api_refuses_everyone_else(app, send, username):
    before = snapshot()
    response = send(username, {"note": NOTE})
    assert response.status_code == 403, response.get_json()
    assert snapshot() == before


@pytest.mark.parametrize("body", [{}, {"note": ""}, {"note": "   "}, {"note": None}, {"note": 12}])
def test_api_a_blank_or_missing_note_is_a_422(app, send, body):
    before = snapshot()
    response = send("vp.tp", body)
    assert response.status_code == 422, response.get_json()
    assert "note" in response.get_json()["details"]
    assert snapshot() == before


def test_api_refuses_a_too_long_note(app, send):
    before = snapshot()
    assert send("vp.tp", {"note": "x" * 4001}).status_code == 422
    assert snapshot() == before


def test_api_409_when_the_task_does_not_wait_or_no_longer_waits(app, send):
    before = snapshot()
    assert send("cntt.tp", {"note": NOTE}, code="1.a").status_code == 409
    assert snapshot() == before
    assert send("vp.tp", {"note": NOTE}).status_code == 200
    again = snapshot()
    assert send("giamdoc", {"note": NOTE}).status_code == 409
    assert snapshot() == again


def test_api_the_order_of_refusals(app, send):
    """Who may comes first (403 even with a blank note), then the state (409), then the note (422)."""
    assert send("giamsat", {"note": ""}).status_code == 403
    assert send("cntt.tp", {"note": ""}, code="1.a").status_code == 409
    assert send("vp.tp", {"note": ""}).status_code == 422


def test_api_unknown_task_and_bad_body(app, client, api_token, send):
    assert send("vp.tp", {"note": NOTE}, task_id=999999).status_code == 404
    headers = {"Authorization": f"Bearer {api_token('vp.tp')}"}
    url = f"/api/v1/tasks/{task().id}/guidance"
    response = client.post(url, data="[1]", headers=headers, content_type="application/json")
    assert response.status_code == 400
    assert client.post(url, json={"note": NOTE}).status_code == 401
    assert task().state == TaskState.WAITING_GUIDANCE
