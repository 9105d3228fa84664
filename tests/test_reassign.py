"""Reassigning a step, like Camunda's setAssignee: the head of the step's unit (or a leader or an admin)
gives an open step to an eligible colleague, even when someone else holds it; audited, and the new
holder is notified. workflows.assignment.reassign, POST /api/v1/work-items/{id}/reassign, the step page."""

from __future__ import annotations

import lxml.html
import pytest
from sqlalchemy import select, text

from app.extensions import db
from app.models import AuditEvent, Notification, NotificationKind, Task, User, WorkItem, WorkItemStatus
from app.services.accounts import create_or_update_user
from tests.audit_helpers import comparable_rows
from tests.conftest import DEMO_PASSWORD, csrf_token_from
from workflows.assignment import claim, reassign, release
from workflows.audit import Action
from workflows.engine import advance, start_process
from workflows.errors import Conflict, InvalidData, NotAllowed

TABLES = ("work_items", "audit_events", "notifications", "tasks")
# The first step also states the task's "5 rõ" the plan left open: who is responsible, what result.
FIVE_CLEARS = {"assignee": "cntt.cv", "expected_result": "Kế hoạch được UBND tỉnh ban hành"}
DRAFT = {"consulted_units": ["VP", "TTCNTT"], "summary": "Dự thảo kế hoạch", **FIVE_CLEARS}


def user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def snapshot() -> dict:
    db.session.expire_all()
    return {table: db.session.execute(text(comparable_rows(table))).all() for table in TABLES}


def open_items(step: str | None = None) -> list[WorkItem]:
    db.session.expire_all()
    task = db.session.scalar(select(Task).where(Task.code == "1.a"))
    query = select(WorkItem).where(WorkItem.task_id == task.id, WorkItem.status == WorkItemStatus.OPEN)
    if step:
        query = query.where(WorkItem.step == step)
    return list(db.session.scalars(query.order_by(WorkItem.id)))


def reassigned_events() -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == Action.STEP_REASSIGNED)))


def notes_of(username: str) -> list[Notification]:
    db.session.expire_all()
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user(username).id)))


@pytest.fixture
def draft(app) -> WorkItem:
    """1.a started: its draft step, held by cntt.cv; cntt.cv2 is a second specialist of CNTT."""
    create_or_update_user(
        username="cntt.cv2",
        password=DEMO_PASSWORD,
        unit_code="CNTT",
        roles=["specialist"],
        full_name="Trần Thị Hai",
    )
    db.session.commit()
    start_process(db.session.scalar(select(Task).where(Task.code == "1.a")), user("cntt.cv"))
    (item,) = open_items()
    claim(item, user("cntt.cv"))
    return item


def opinion_items() -> dict[str, WorkItem]:
    """1.a moved on to collecting opinions: one open item per consulted unit, by unit code."""
    (item,) = open_items()
    advance(item, user("cntt.cv"), DRAFT, None)
    (review,) = open_items()
    advance(review, user("cntt.tp"), {"decision": "approve"}, None)
    return {item.item_unit.code: item for item in open_items("collect_opinions")}


# --- the service ------------------------------------------------------------------------------------


def test_the_unit_head_takes_a_held_step_from_its_holder_and_gives_it_to_a_colleague(draft):
    reassign(draft, user("cntt.tp"), "cntt.cv2")
    db.session.expire_all()
    assert draft.assignee.username == "cntt.cv2" and draft.delegated_by_id is None
    (event,) = reassigned_events()
    assert (event.actor_username, event.work_item_id, event.step) == ("cntt.tp", draft.id, "draft")
    assert event.data == {"from": "cntt.cv", "to": "cntt.cv2"}
    (note,) = notes_of("cntt.cv2")
    assert (note.kind, note.work_item_id, note.task_id, note.read_at) == (
        NotificationKind.ASSIGNMENT,
        draft.id,
        draft.task_id,
        None,
    )
    assert "1.a" in note.title and user("cntt.tp").full_name in note.body
    assert notes_of("cntt.cv") == []


def test_an_unheld_step_is_audited_as_from_nobody(draft):
    reassign(draft, user("cntt.tp"), "cntt.cv2")
    reassign(draft, user("giamdoc"), "cntt.cv")
    assert [e.data for e in reassigned_events()] == [
        {"from": "cntt.cv", "to": "cntt.cv2"},
        {"from": "cntt.cv2", "to": "cntt.cv"},
    ]
    release(draft, user("cntt.tp"))
    reassign(draft, user("admin"), "cntt.cv2")
    assert reassigned_events()[-1].data == {"from": None, "to": "cntt.cv2"}


def test_giving_it_to_its_holder_again_changes_nothing(draft):
    before = snapshot()
    reassign(draft, user("cntt.tp"), "cntt.cv")
    assert snapshot() == before


@pytest.mark.parametrize("username", ["giamsat", "cntt.cv", "cntt.cv2", "hts.tp", "vp.tp"])
def test_others_may_not_reassign(draft, username):
    before = snapshot()
    with pytest.raises(NotAllowed):
        reassign(draft, user(username), "cntt.cv2")
    assert snapshot() == before


@pytest.mark.parametrize("target", ["hts.cv", "cntt.tp", "giamdoc", "nobody", "", "  "])
def test_only_someone_who_may_do_the_step_may_receive_it(draft, target):
    before = snapshot()
    with pytest.raises(InvalidData) as refused:
        reassign(draft, user("cntt.tp"), target)
    assert "to" in refused.value.details
    assert snapshot() == before


def test_a_closed_step_cannot_be_reassigned(draft):
    advance(draft, user("cntt.cv"), DRAFT, None)
    before = snapshot()
    with pytest.raises(Conflict):
        reassign(draft, user("cntt.tp"), "cntt.cv2")
    assert snapshot() == before


def test_the_head_of_a_consulted_unit_reassigns_its_opinion_step_but_not_the_lead_unit_s_head(draft):
    vp_item = opinion_items()["VP"]
    claim(vp_item, user("vp.cv"))
    before = snapshot()
    with pytest.raises(NotAllowed):
        reassign(vp_item, user("cntt.tp"), "vp.tp")
    assert snapshot() == before
    reassign(vp_item, user("vp.tp"), "vp.tp")
    assert reassigned_events()[-1].data == {"from": "vp.cv", "to": "vp.tp"}


# --- the API ----------------------------------------------------------------------------------------


@pytest.fixture
def send(client, api_token):
    tokens: dict[str, str] = {}

    def post(username: str, item_id: int, body):
        if username not in tokens:
            tokens[username] = api_token(username)
        url = f"/api/v1/work-items/{item_id}/reassign"
        return client.post(url, json=body, headers={"Authorization": f"Bearer {tokens[username]}"})

    return post


@pytest.mark.parametrize("username", ["cntt.tp", "giamdoc", "admin"])
def test_api_reassigns(draft, send, username):
    response = send(username, draft.id, {"to": "cntt.cv2"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["id"], body["assignee"], body["status"]) == (draft.id, "cntt.cv2", "open")
    assert set(body["actions"]) <= {"complete", "claim", "release", "delegate"}
    assert [(e.actor_username, e.data) for e in reassigned_events()] == [
        (username, {"from": "cntt.cv", "to": "cntt.cv2"})
    ]
    assert len(notes_of("cntt.cv2")) == 1


def test_api_the_new_holder_may_complete_and_the_old_one_no_longer(draft, send, client, api_token):
    assert send("cntt.tp", draft.id, {"to": "cntt.cv2"}).status_code == 200
    url = f"/api/v1/work-items/{draft.id}"
    mine = client.get(url, headers={"Authorization": f"Bearer {api_token('cntt.cv2')}"}).get_json()
    theirs = client.get(url, headers={"Authorization": f"Bearer {api_token('cntt.cv')}"}).get_json()
    assert "complete" in mine["actions"] and "complete" not in theirs["actions"]


@pytest.mark.parametrize("username", ["giamsat", "cntt.cv", "hts.cv", "hts.tp", "vp.tp"])
def test_api_refuses_others(draft, send, username):
    before = snapshot()
    response = send(username, draft.id, {"to": "cntt.cv2"})
    assert response.status_code == 403, response.get_json()
    assert snapshot() == before


@pytest.mark.parametrize(
    "body", [{"to": "hts.cv"}, {"to": "nobody"}, {"to": ""}, {}, {"to": 5}, {"to": None}]
)
def test_api_422_when_the_target_may_not_do_the_step(draft, send, body):
    before = snapshot()
    response = send("cntt.tp", draft.id, body)
    assert response.status_code == 422, response.get_json()
    assert "to" in response.get_json()["details"]
    assert snapshot() == before


def test_api_409_when_the_step_is_closed_and_404_when_unknown(draft, send):
    advance(draft, user("cntt.cv"), DRAFT, None)
    before = snapshot()
    assert send("cntt.tp", draft.id, {"to": "cntt.cv2"}).status_code == 409
    assert send("cntt.tp", 999999, {"to": "cntt.cv2"}).status_code == 404
    assert snapshot() == before


def test_api_without_a_token_is_a_401(draft, client):
    before = snapshot()
    assert client.post(f"/api/v1/work-items/{draft.id}/reassign", json={"to": "cntt.cv2"}).status_code == 401
    assert snapshot() == before


# --- the step page ----------------------------------------------------------------------------------


def step_page(client, item_id: int):
    response = client.get(f"/steps/{item_id}")
    assert response.status_code == 200
    return lxml.html.fromstring(response.get_data(as_text=True))


def post_reassign(client, item_id: int, to: str):
    token = csrf_token_from(client.get("/plans").get_data(as_text=True))
    return client.post(f"/steps/{item_id}/reassign", data={"to": to, "csrf_token": token})


def test_web_the_unit_head_reassigns_from_the_step_page(draft, client, auth):
    auth.login("cntt.tp")
    doc = step_page(client, draft.id)
    (form,) = doc.xpath('//form[@id="reassign-form"]')
    options = [option.get("value") for option in form.xpath('.//select[@name="to"]/option')]
    assert options == ["cntt.cv2"]  # eligible colleagues but the holder; not hts.cv, not the head himself
    assert "Giao lại" in form.text_content()

    response = post_reassign(client, draft.id, "cntt.cv2")
    assert response.status_code == 302 and response.location.endswith(f"/steps/{draft.id}")
    db.session.expire_all()
    assert draft.assignee.username == "cntt.cv2"
    assert [e.data for e in reassigned_events()] == [{"from": "cntt.cv", "to": "cntt.cv2"}]
    doc = step_page(client, draft.id)
    assert "Trần Thị Hai" in doc.xpath('//*[@id="step-holder"]')[0].text_content()
    assert "Bước này đã được giao cho Trần Thị Hai" in doc.text_content()


def test_web_the_new_holder_finds_the_notification(draft, client, auth):
    reassign(draft, user("cntt.tp"), "cntt.cv2")
    auth.login("cntt.cv2")
    response = client.get("/notifications")
    doc = lxml.html.fromstring(response.get_data(as_text=True))
    (entry,) = doc.xpath(f'//*[@data-kind="{NotificationKind.ASSIGNMENT}"]')
    assert entry.get("data-unread") == "1"
    assert entry.xpath(f'.//a[@href="/steps/{draft.id}"]')


def test_web_a_colleague_who_may_not_do_the_step_is_refused_with_a_message(draft, client, auth):
    auth.login("cntt.tp")
    before = snapshot()
    response = post_reassign(client, draft.id, "hts.cv")
    assert response.status_code == 302
    assert snapshot() == before
    assert "Hãy chọn một đồng nghiệp có thể thực hiện bước này." in step_page(client, draft.id).text_content()


@pytest.mark.parametrize("username", ["cntt.cv", "cntt.cv2", "giamsat"])
def test_web_those_who_see_the_step_but_may_not_reassign_get_no_form_and_a_403(draft, client, auth, username):
    auth.login(username)
    assert not step_page(client, draft.id).xpath('//*[@id="reassign-form"]')
    before = snapshot()
    assert post_reassign(client, draft.id, "cntt.cv2").status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("username", ["hts.tp", "vp.tp"])
def test_web_another_unit_s_head_is_refused(draft, client, auth, username):
    auth.login(username)
    before = snapshot()
    assert post_reassign(client, draft.id, "cntt.cv2").status_code == 403
    assert snapshot() == before


def test_web_without_the_csrf_token_nothing_changes(draft, client, auth):
    auth.login("cntt.tp")
    before = snapshot()
    assert client.post(f"/steps/{draft.id}/reassign", data={"to": "cntt.cv2"}).status_code == 400
    assert snapshot() == before


def test_web_a_closed_step_offers_no_form_and_says_so(draft, client, auth):
    advance(draft, user("cntt.cv"), DRAFT, None)
    auth.login("cntt.tp")
    assert not step_page(client, draft.id).xpath('//*[@id="reassign-form"]')
    before = snapshot()
    response = post_reassign(client, draft.id, "cntt.cv2")
    assert response.status_code == 302
    assert snapshot() == before
