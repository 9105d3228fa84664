"""`tick`: one entry point runs period starts, reminders and escalations, each once."""

from datetime import datetime

from sqlalchemy import select

from app.extensions import db
from app.models import Notification, Task, User
from app.services.clock import LOCAL_TZ
from workflows.engine import start_process
from workflows.scheduler import tick


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _notifications(username: str) -> list[str]:
    query = select(Notification.title).where(Notification.user_id == _user(username).id)
    return list(db.session.scalars(query.order_by(Notification.id)))


def test_tick_reminds_then_escalates_and_repeats_nothing(app):
    task = db.session.scalar(select(Task).where(Task.code == "1.a"))  # due 28/02/2025
    start_process(task, _user("cntt.cv"))

    report = tick(datetime(2025, 2, 26, 9, 0, tzinfo=LOCAL_TZ))
    assert report.done["periods_started"] == []  # the plan (04/03/2025) has no period yet
    assert len(report.done["reminders_sent"]) == 1
    assert tick(datetime(2025, 2, 26, 9, 1, tzinfo=LOCAL_TZ)).done["reminders_sent"] == []
    assert [t.startswith("Sắp đến hạn") for t in _notifications("cntt.cv")] == [True]

    late = tick(datetime(2025, 3, 5, 9, 0, tzinfo=LOCAL_TZ))
    assert late.done["escalations_sent"]
    assert any(t.startswith("Quá hạn") for t in _notifications("cntt.tp"))
    assert any(t.startswith("Quá hạn") for t in _notifications("giamdoc"))
    assert "2.a 2025-03" in late.done["periods_started"]
    again = tick(datetime(2025, 3, 5, 9, 5, tzinfo=LOCAL_TZ))
    assert again.done["escalations_sent"] == [] and again.done["periods_started"] == []
