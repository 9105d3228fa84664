"""Reminders before a step is due, escalation after, and the in-app notifications (workflows/reminders.py).

Task 1.a is started as cntt.cv: its draft step is open for CNTT's specialists (cntt.cv), nobody holds it.
Its due time is set to DUE and every call gets an explicit `now`.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Notification, ReminderSent, Task, User, WorkItem, WorkItemStatus
from tests.conftest import csrf_token_from
from workflows.engine import start_process
from workflows.guards import eligible
from workflows.reminders import escalate_overdue, send_due_reminders

DUE = datetime(2027, 3, 10, 2, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


@pytest.fixture
def outbox(app, tmp_path):
    path = tmp_path / "outbox.jsonl"
    app.config["OUTBOX_PATH"] = str(path)
    return path


@pytest.fixture
def item_id(app, outbox) -> int:
    task = db.session.scalar(select(Task).where(Task.code == "1.a"))
    start_process(task, _user("cntt.cv"))
    item = db.session.scalar(
        select(WorkItem).where(WorkItem.task_id == task.id, WorkItem.status == WorkItemStatus.OPEN)
    )
    item.due_at = DUE
    db.session.commit()
    return item.id


def _notes(username: str | None = None) -> list[Notification]:
    db.session.expire_all()
    query = select(Notification).order_by(Notification.id)
    if username:
        query = query.where(Notification.user_id == _user(username).id)
    return list(db.session.scalars(query))


def _sent_kinds() -> list[str]:
    db.session.expire_all()
    return sorted(db.session.scalars(select(ReminderSent.kind)))


def test_reminders_fire_once_each_at_7_3_and_1_days(app, item_id):
    assert send_due_reminders(DUE - 8 * DAY) == []
    assert send_due_reminders(DUE - 7 * DAY) == [f"remind-7d #{item_id}"]
    assert send_due_reminders(DUE - 7 * DAY) == []  # run twice: nothing again
    assert send_due_reminders(DUE - 5 * DAY) == []
    assert send_due_reminders(DUE - 3 * DAY + timedelta(hours=1)) == [f"remind-3d #{item_id}"]
    assert send_due_reminders(DUE - 2 * DAY) == []
    assert send_due_reminders(DUE - DAY) == [f"remind-1d #{item_id}"]
    assert send_due_reminders(DUE - timedelta(minutes=1)) == []
    assert send_due_reminders(DUE) == []  # due now: that is escalation's business
    assert _sent_kinds() == ["remind-1d", "remind-3d", "remind-7d"]

    notes = _notes()
    item = db.session.get(WorkItem, item_id)
    everyone_eligible = {user.id for user in db.session.scalars(select(User)) if eligible(user, item)}
    assert _user("cntt.cv").id in everyone_eligible and _user("hts.cv").id not in everyone_eligible
    assert len(notes) == 3 * len(everyone_eligible)
    assert {note.user_id for note in notes} == everyone_eligible
    assert all(note.kind == "reminder" and note.work_item_id == item_id for note in notes)
    assert notes[0].title == f"Sắp đến hạn: {item.name} — nhiệm vụ 1.a"


def test_a_late_first_run_sends_only_the_most_urgent_reminder(app, item_id):
    assert send_due_reminders(DUE - 2 * DAY) == [f"remind-3d #{item_id}"]
    assert _sent_kinds() == ["remind-3d"]


def test_the_reminder_goes_to_the_holder_only(app, item_id):
    item = db.session.get(WorkItem, item_id)
    item.assignee_id = _user("cntt.tp").id  # whoever holds it, not the unit's specialists
    db.session.commit()
    send_due_reminders(DUE - 3 * DAY)
    assert [note.user_id for note in _notes()] == [_user("cntt.tp").id]


def test_reminders_configured_days(app, item_id):
    app.config["REMINDER_DAYS"] = (2,)
    assert send_due_reminders(DUE - 3 * DAY) == []
    assert send_due_reminders(DUE - 2 * DAY) == [f"remind-2d #{item_id}"]


def test_closed_items_get_no_reminder(app, item_id):
    item = db.session.get(WorkItem, item_id)
    item.status = WorkItemStatus.COMPLETED
    db.session.commit()
    assert send_due_reminders(DUE - DAY) == []
    assert escalate_overdue(DUE + 10 * DAY) == []


def test_two_ticks_at_once_send_one_reminder(app, item_id):
    barrier = threading.Barrier(2)
    results: list = []
    failures: list[BaseException] = []

    def tick() -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                results.append(send_due_reminders(DUE - DAY))
                db.session.remove()
        except BaseException as error:  # surfaced below
            failures.append(error)

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    assert sorted(results, key=len) == [[], [f"remind-1d #{item_id}"]]
    assert _sent_kinds() == ["remind-1d"]
    assert db.session.scalar(select(func.count(Notification.id))) == len(_notes("cntt.cv"))


def test_overdue_work_goes_to_the_unit_head_then_the_leader(app, item_id):
    assert escalate_overdue(DUE - timedelta(minutes=1)) == []
    assert escalate_overdue(DUE) == [f"escalate-head #{item_id}"]
    assert escalate_overdue(DUE + DAY) == []
    assert escalate_overdue(DUE + 3 * DAY - timedelta(minutes=1)) == []
    assert escalate_overdue(DUE + 3 * DAY) == [f"escalate-leader #{item_id}"]
    assert escalate_overdue(DUE + 9 * DAY) == []

    head_notes, leader_notes = _notes("cntt.tp"), _notes("giamdoc")
    assert len(head_notes) == 1 and len(leader_notes) == 1
    assert head_notes[0].kind == "escalation" and head_notes[0].title.startswith("Quá hạn: ")
    assert {note.user_id for note in _notes()} == {_user("cntt.tp").id, _user("giamdoc").id}


def test_a_late_escalation_reaches_both_at_once(app, item_id):
    assert escalate_overdue(DUE + 5 * DAY) == [f"escalate-head #{item_id}", f"escalate-leader #{item_id}"]


def test_the_outbox_gets_one_line_per_notification(app, item_id, outbox):
    send_due_reminders(DUE - 7 * DAY)
    escalate_overdue(DUE + 3 * DAY)
    lines = [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == len(_notes())
    by_user = {line["username"]: line for line in lines}
    assert {"cntt.cv", "cntt.tp", "giamdoc"} <= set(by_user)
    assert by_user["giamdoc"]["subject"].startswith("Quá hạn: ")
    assert by_user["cntt.cv"]["kind"] == "remind-7d"


def test_no_outbox_when_it_is_not_configured(app, item_id, outbox):
    app.config["OUTBOX_PATH"] = None
    send_due_reminders(DUE - DAY)
    assert _notes() and not outbox.exists()


def test_the_page_lists_them_the_badge_counts_and_mark_all_read(app, client, auth, item_id):
    send_due_reminders(DUE - 7 * DAY)
    send_due_reminders(DUE - 3 * DAY)
    auth.login("cntt.cv")
    page = client.get("/plans").get_data(as_text=True)
    assert 'id="notifications-count">2<' in page

    page = client.get("/notifications").get_data(as_text=True)
    assert page.count('data-unread="1"') == 2
    assert page.count(f'href="/steps/{item_id}"') == 2
    assert "Sắp đến hạn: " in page and "Thông báo" in page

    token = csrf_token_from(page)
    assert client.post("/notifications/read", data={}).status_code == 400  # no CSRF token
    response = client.post("/notifications/read", data={"csrf_token": token}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'data-unread="1"' not in page
    assert 'id="notifications-count"' not in page
    assert all(note.read_at is not None for note in _notes("cntt.cv"))


def test_each_user_sees_only_their_own(app, client, auth, item_id):
    escalate_overdue(DUE)
    auth.login("cntt.cv")
    page = client.get("/notifications").get_data(as_text=True)
    assert 'id="no-notifications"' in page and 'id="notifications-count"' not in page
