"""The worklist on the web: starting a task's process, "Việc cần xử lý", the menu badge, who sees what."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, ProcessInstance, Task, User, WorkItem, WorkItemStatus
from app.services.clock import utcnow
from tests.conftest import csrf_token_from
from workflows.engine import advance

DRAFT_DATA = {
    "consulted_units": ["VP", "TTCNTT"],
    "summary": "Dự thảo Kế hoạch tuyên truyền chuyển đổi số.",
    # the "5 rõ" the first step asks for while 1.a lacks them
    "assignee": "cntt.cv",
    "expected_result": "Kế hoạch được UBND tỉnh ban hành",
}


def task_by_code(code: str = "1.a") -> Task:
    return db.session.scalar(select(Task).where(Task.code == code))


def user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def open_items(task_id: int) -> list[WorkItem]:
    db.session.expire_all()
    query = select(WorkItem).where(WorkItem.task_id == task_id, WorkItem.status == WorkItemStatus.OPEN)
    return list(db.session.scalars(query))


def start_via_web(client, task_id: int, follow: bool = False):
    token = csrf_token_from(client.get(f"/tasks/{task_id}").get_data(as_text=True))
    return client.post(f"/tasks/{task_id}/start", data={"csrf_token": token}, follow_redirects=follow)


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def badge_count(page: str) -> int | None:
    match = re.search(r'id="worklist-count">(\d+)<', page)
    return int(match.group(1)) if match else None


def test_specialist_starts_the_process_and_finds_the_draft_in_the_worklist(client, auth):
    task = task_by_code()
    auth.login("cntt.cv")
    page = text_of(client.get(f"/tasks/{task.id}"))
    assert "Bắt đầu quy trình" in page and 'id="start-process"' in page
    assert badge_count(page) is None

    response = start_via_web(client, task.id)
    assert response.status_code == 302 and response.headers["Location"] == f"/tasks/{task.id}"

    page = text_of(client.get(f"/tasks/{task.id}"))
    assert 'id="start-process"' not in page  # a process is running now
    assert "draft_plan" in page and "Đang thực hiện" in page
    assert "Bắt đầu quy trình" in page  # in the history
    worklist = text_of(client.get("/worklist"))
    assert badge_count(worklist) == 1
    (item,) = open_items(task.id)
    assert f'data-item-id="{item.id}"' in worklist
    assert "Soạn thảo dự thảo" in worklist and "1.a" in worklist
    assert "Phòng Công nghệ thông tin" in worklist and "Chưa ai nhận" in worklist
    assert f'href="/steps/{item.id}"' in worklist
    assert badge_count(text_of(client.get("/plans"))) == 1  # the badge is on every page


def test_start_twice_says_it_is_already_running(client, auth):
    task = task_by_code()
    auth.login("cntt.cv")
    start_via_web(client, task.id)
    token = csrf_token_from(client.get("/plans").get_data(as_text=True))
    response = client.post(f"/tasks/{task.id}/start", data={"csrf_token": token}, follow_redirects=True)
    assert "Quy trình của nhiệm vụ này đã được bắt đầu" in text_of(response)
    assert db.session.query(ProcessInstance).filter_by(task_id=task.id).count() == 1


def test_start_needs_the_csrf_token(client, auth):
    task = task_by_code()
    auth.login("cntt.cv")
    assert client.post(f"/tasks/{task.id}/start").status_code == 400
    assert open_items(task.id) == []


def test_unit_head_sees_the_review_only_once_the_draft_is_submitted(app, client, auth):
    task = task_by_code()
    auth.login("cntt.cv")
    start_via_web(client, task.id)
    auth.logout()

    auth.login("cntt.tp")
    assert 'id="worklist-empty"' in text_of(client.get("/worklist"))
    (draft,) = open_items(task.id)
    advance(draft, user("cntt.cv"), DRAFT_DATA)

    worklist = text_of(client.get("/worklist"))
    assert 'id="worklist-empty"' not in worklist
    assert "Trưởng đơn vị xem xét" in worklist
    assert badge_count(worklist) == 1


def test_another_unit_never_sees_cntt_items(client, auth):
    task = task_by_code()
    auth.login("cntt.cv")
    start_via_web(client, task.id)
    (item,) = open_items(task.id)
    auth.logout()

    auth.login("hts.cv")
    worklist = text_of(client.get("/worklist"))
    assert 'id="worklist-empty"' in worklist and "Không có việc nào đang chờ bạn" in worklist
    assert badge_count(worklist) is None
    assert client.get(f"/steps/{item.id}").status_code == 403
    page = text_of(client.get(f"/tasks/{task.id}"))
    assert f'href="/steps/{item.id}"' not in page
    assert 'id="start-process"' not in page


def test_supervisor_sees_everything_but_gets_no_buttons(client, auth):
    task = task_by_code()
    auth.login("cntt.cv")
    start_via_web(client, task.id)
    (item,) = open_items(task.id)
    auth.logout()

    auth.login("giamsat")
    page = text_of(client.get(f"/tasks/{task.id}"))
    assert 'id="start-process"' not in page
    assert "Soạn thảo dự thảo" in page and "Bắt đầu quy trình" in page  # open step and history
    step = text_of(client.get(f"/steps/{item.id}"))
    assert 'id="step-form"' not in step and 'id="claim-button"' not in step
    token = csrf_token_from(step)
    assert client.post(f"/tasks/{task.id}/start", data={"csrf_token": token}).status_code == 403
    assert client.post(f"/steps/{item.id}", data={"csrf_token": token, **DRAFT_DATA}).status_code == 403


def test_supervisor_may_not_start_a_task_without_a_process(client, auth):
    task = task_by_code("1.b")
    auth.login("giamsat")
    page = text_of(client.get(f"/tasks/{task.id}"))
    assert 'id="start-process"' not in page
    token = csrf_token_from(page)
    assert client.post(f"/tasks/{task.id}/start", data={"csrf_token": token}).status_code == 403
    assert db.session.query(ProcessInstance).filter_by(task_id=task.id).count() == 0


def test_worklist_marks_an_overdue_item(client, auth):
    task = task_by_code()
    auth.login("cntt.cv")
    start_via_web(client, task.id)
    (item,) = open_items(task.id)
    item.due_at = utcnow() - timedelta(days=2)
    db.session.commit()

    worklist = text_of(client.get("/worklist"))
    row = re.search(rf'<tr data-item-id="{item.id}".*?</tr>', worklist, re.S).group(0)
    assert "Quá hạn" in row and 'data-overdue="1"' in row


def test_worklist_shows_due_dates_in_local_time(client, auth):
    task = task_by_code()
    auth.login("cntt.cv")
    start_via_web(client, task.id)
    (item,) = open_items(task.id)
    from datetime import UTC, datetime

    item.due_at = datetime(2030, 5, 31, 17, 30, tzinfo=UTC)  # 00:30 on 1 June in Hà Nội
    db.session.commit()
    worklist = text_of(client.get("/worklist"))
    assert "01/06/2030 00:30" in worklist
    assert "Quá hạn" not in worklist


def test_claim_and_release_through_the_step_page(client, auth):
    task = task_by_code()
    auth.login("cntt.cv")
    start_via_web(client, task.id)
    (item,) = open_items(task.id)
    page = text_of(client.get(f"/steps/{item.id}"))
    assert 'id="claim-button"' in page and 'id="release-button"' not in page

    token = csrf_token_from(page)
    response = client.post(f"/steps/{item.id}/claim", data={"csrf_token": token}, follow_redirects=True)
    page = text_of(response)
    assert "Bạn đã nhận việc" in page and 'id="release-button"' in page
    db.session.expire_all()
    assert db.session.get(WorkItem, item.id).assignee.username == "cntt.cv"

    response = client.post(f"/steps/{item.id}/release", data={"csrf_token": token}, follow_redirects=True)
    assert 'id="claim-button"' in text_of(response)
    db.session.expire_all()
    assert db.session.get(WorkItem, item.id).assignee_id is None
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.task_id == task.id)).all()
    assert actions == ["process.started", "step.claimed", "step.released"]
    history = text_of(client.get(f"/tasks/{task.id}"))
    assert "Nhận việc" in history and "Trả lại việc chung" in history


def test_claim_by_someone_who_may_not_is_refused(client, auth):
    task = task_by_code()
    auth.login("cntt.cv")
    start_via_web(client, task.id)
    (item,) = open_items(task.id)
    auth.logout()
    auth.login("cntt.tp")  # the head sees the step but it is for specialists
    page = text_of(client.get(f"/steps/{item.id}"))
    assert 'id="claim-button"' not in page and 'id="step-form"' not in page
    token = csrf_token_from(page)
    assert client.post(f"/steps/{item.id}/claim", data={"csrf_token": token}).status_code == 403


@pytest.mark.parametrize("url", ["/worklist", "/steps/1"])
def test_new_pages_send_visitors_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


def test_new_posts_need_a_signed_in_user(client):
    task = task_by_code()
    for url in (f"/tasks/{task.id}/start", "/steps/1", "/steps/1/claim", "/steps/1/release"):
        response = client.post(url)
        assert response.status_code in (302, 400), url  # sign-in redirect, or CSRF refusal first
        assert open_items(task.id) == []


def test_worklist_page_in_english(client, auth):
    auth.login("cntt.cv")
    token = csrf_token_from(client.get("/worklist").get_data(as_text=True))
    client.post("/lang/en", data={"csrf_token": token, "next": "/worklist"})
    page = text_of(client.get("/worklist"))
    assert "My work" in page and "Nothing is waiting for you." in page
