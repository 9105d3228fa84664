"""Text people type is text: stored markup renders escaped on every page and comes back as data in JSON.

Each field gets its own payload (a <script> and an attribute break-out with an onerror handler), so a
page that shows it escaped is told apart from a page that does not show it at all.
"""

from __future__ import annotations

import html

import lxml.html
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Task, User, WorkItem, WorkItemStatus
from app.services.step_context import form_schema
from app.throttle import limiter
from tests.engine_helpers import sample_data
from workflows.engine import advance, start_process


def payload(name: str) -> str:
    return f'{name}<script>alert("{name}")</script>"><img src=x onerror=alert(1)>'


TITLE, UNIT, FULL_NAME = payload("title"), payload("unit"), payload("fullname")
SUMMARY, COMMENT, OPINION = payload("summary"), payload("comment"), payload("opinion")
RESULT = payload("result")  # the expected result ("rõ kết quả") the first step asks for


@pytest.fixture(autouse=True)
def _fresh_limits(app):
    limiter.reset()
    yield


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _open(task: Task, step: str) -> list[WorkItem]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(WorkItem)
            .where(WorkItem.task_id == task.id, WorkItem.step == step, WorkItem.status == WorkItemStatus.OPEN)
            .order_by(WorkItem.id)
        )
    )


@pytest.fixture
def hostile(app):
    """Task 1.a with markup in its title, lead unit, drafter's name, summary, expected result, comment and
    an opinion."""
    task = db.session.scalar(select(Task).where(Task.code == "1.a"))
    task.title = TITLE
    task.lead_unit.name = UNIT
    drafter = _user("cntt.cv")
    drafter.full_name = FULL_NAME
    db.session.commit()
    start_process(task, drafter)
    (draft,) = _open(task, "draft")
    data = {
        "consulted_units": ["VP", "TTCNTT"],
        "summary": SUMMARY,
        "assignee": "cntt.cv",
        "expected_result": RESULT,
    }
    advance(draft, _user("cntt.cv"), data, COMMENT)
    (review,) = _open(task, "review_draft")
    advance(review, _user("cntt.tp"), {"decision": "approve"}, None)
    vp_item = next(item for item in _open(task, "collect_opinions") if item.item_unit.code == "VP")
    advance(vp_item, _user("vp.cv"), {"opinion": OPINION, "agree": True}, None)
    db.session.expire_all()
    return task


def _assert_escaped(page: str, *payloads: str) -> None:
    doc = lxml.html.fromstring(page)
    for script in doc.xpath("//script"):
        assert "alert" not in (script.text or ""), "a stored <script> became a script"
    assert not doc.xpath("//*[@onerror]"), "a stored attribute break-out became an onerror handler"
    assert not doc.xpath("//img[@src='x']")
    text = html.unescape(page)
    for value in payloads:
        assert value not in page, f"{value[:12]}… is in the page unescaped"
        assert value in text, f"{value[:12]}… is not shown at all"


def _page(client, auth, username: str, url: str) -> str:
    auth.login(username)
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def test_plan_page(client, auth, hostile):
    _assert_escaped(_page(client, auth, "cntt.cv", f"/plans/{hostile.plan_id}"), TITLE, UNIT)


def test_plan_page_filtered_by_a_hostile_query(client, auth, hostile):
    auth.login("cntt.cv")
    response = client.get(f"/plans/{hostile.plan_id}?unit=%3Cscript%3Ealert(2)%3C/script%3E")
    assert response.status_code == 400  # an unknown unit, said on the page
    assert "<script>alert(2)" not in response.get_data(as_text=True)


def test_task_page_with_its_history(client, auth, hostile):
    page = _page(client, auth, "giamsat", f"/tasks/{hostile.id}")
    _assert_escaped(page, TITLE, UNIT, FULL_NAME, COMMENT, RESULT)


def test_worklist(client, auth, hostile):
    _assert_escaped(_page(client, auth, "ttcntt.cv", "/worklist"), TITLE)


def test_step_page_with_earlier_inputs_and_history(client, auth, hostile):
    (item,) = [item for item in _open(hostile, "collect_opinions") if item.item_unit.code == "TTCNTT"]
    page = _page(client, auth, "ttcntt.cv", f"/steps/{item.id}")
    _assert_escaped(page, TITLE, SUMMARY, COMMENT, FULL_NAME)


def test_a_finished_opinion_shows_escaped_to_the_consolidating_specialist(client, auth, hostile):
    (item,) = [item for item in _open(hostile, "collect_opinions") if item.item_unit.code == "TTCNTT"]
    advance(item, _user("ttcntt.cv"), {"opinion": "Đồng ý", "agree": True}, None)
    others = _open(hostile, "collect_opinions")
    for other in others:  # the outside bodies' opinions, recorded by the lead unit
        advance(other, _user("cntt.cv"), sample_data(form_schema(other)), None)
    (consolidate,) = _open(hostile, "consolidate")
    page = _page(client, auth, "cntt.cv", f"/steps/{consolidate.id}")
    _assert_escaped(page, OPINION, SUMMARY)


def test_api_returns_the_text_as_data(client, api_token, hostile):
    headers = {"Authorization": f"Bearer {api_token('ttcntt.cv')}"}
    task = client.get(f"/api/v1/tasks/{hostile.id}", headers=headers)
    assert task.mimetype == "application/json"
    body = task.get_json()
    assert body["title"] == TITLE and body["lead_unit"]["name"] == UNIT
    assert body["expected_result"] == RESULT
    events = client.get(f"/api/v1/tasks/{hostile.id}/history", headers=headers).get_json()["events"]
    assert COMMENT in [event["comment"] for event in events]
    assert FULL_NAME in [event["actor"]["full_name"] for event in events]
    assert {"opinion": OPINION, "agree": True} in [event["data"] for event in events]
    assert any(event["data"] and event["data"].get("summary") == SUMMARY for event in events)
    worklist = client.get("/api/v1/worklist", headers=headers).get_json()["items"]
    assert TITLE in [item["task_title"] for item in worklist]
