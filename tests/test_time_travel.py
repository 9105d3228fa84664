"""Months of the scheduler in a few seconds: the clock is moved with time-machine and `tick()` reads it.

`tick()` is called without `now`, so it takes the time from app/services/clock.py like cron's
`flask workflows tick` would; the engine stamps work items with the same moved clock. Every tick is
run twice at the same instant, as two servers (or an impatient cron) would: the second does nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from app.extensions import db
from app.models import Notification, NotificationKind, ProcessInstance
from app.services.clock import LOCAL_TZ
from tests.engine_helpers import form_of, open_item, open_items, sample_data, task, user
from workflows.due_marks import DUE_SOON, NONE, OVERDUE
from workflows.engine import advance, start_process
from workflows.scheduler import TickReport, tick

HOURS_6 = timedelta(hours=6)
DAY = timedelta(days=1)


def local(year, month, day, hour=9) -> datetime:
    return datetime(year, month, day, hour, 0, tzinfo=LOCAL_TZ)


def as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def tick_twice() -> TickReport:
    """Tick, then tick again at the very same instant and check the second one did nothing."""
    report = tick()
    again = tick()
    assert again.now == report.now
    assert all(entries == [] for entries in again.done.values()), again.lines()
    return report


def mark_of(code: str) -> str:
    db.session.expire_all()
    return task(code).due_status


def notes_of(username: str, kind: str, code: str | None = None) -> list[Notification]:
    """The user's notifications of this kind (about task `code` only, if given)."""
    db.session.expire_all()
    query = select(Notification).where(Notification.user_id == user(username).id, Notification.kind == kind)
    if code is not None:
        query = query.where(Notification.task_id == task(code).id)
    return list(db.session.scalars(query.order_by(Notification.id)))


@pytest.fixture
def clock():
    with time_machine.travel(local(2025, 2, 10), tick=False) as traveller:
        yield traveller


def test_standing_duties_start_one_instance_per_period_over_four_months(app, clock):
    started_on: dict[str, date] = {}
    moment = local(2025, 3, 4, 8)  # the plan's issue date
    while moment < local(2025, 7, 2):
        clock.move_to(moment)
        for entry in tick_twice().periods_started:
            assert entry not in started_on, f"{entry} started twice"
            started_on[entry] = moment.date()
        moment += DAY

    monthly = {entry: day for entry, day in started_on.items() if entry.startswith("2.a ")}
    assert monthly == {
        "2.a 2025-03": date(2025, 3, 4),
        "2.a 2025-04": date(2025, 4, 1),
        "2.a 2025-05": date(2025, 5, 1),
        "2.a 2025-06": date(2025, 6, 1),
        "2.a 2025-07": date(2025, 7, 1),
    }
    assert started_on["10.a 2025"] == date(2025, 3, 4)  # a yearly duty: one instance for 2025
    periods = db.session.scalars(
        select(ProcessInstance.period).where(ProcessInstance.task_id == task("2.a").id)
    )
    assert sorted(periods) == ["2025-03", "2025-04", "2025-05", "2025-06", "2025-07"]


def test_reminders_7_3_1_days_before_then_escalation_to_the_head_and_the_leader(app, clock):
    app.config["ESCALATE_TO_LEADER_AFTER_DAYS"] = 5
    t1a = task("1.a")
    start_process(t1a, user("cntt.cv"))  # 10/02/2025 09:00
    item = open_item(t1a, "draft")
    item_id, due = item.id, as_utc(item.due_at)
    assert due == datetime(2025, 2, 28, 23, 59, 59, tzinfo=LOCAL_TZ)  # the end of the task's deadline day

    first_seen: dict[str, datetime] = {}
    marks: dict[datetime, str] = {}
    moment = local(2025, 2, 10, 9)
    while moment < local(2025, 3, 15):
        clock.move_to(moment)
        report = tick_twice()
        for line in report.done["reminders_sent"] + report.done["escalations_sent"]:
            if not line.endswith(f" #{item_id}"):
                continue  # the monthly reporting cycle, started on 4 March, reminds its own steps
            assert line not in first_seen, f"{line} sent twice"
            first_seen[line] = moment
        marks[moment] = mark_of("1.a")
        moment += HOURS_6

    expected = {
        f"remind-7d #{item_id}": due - 7 * DAY,
        f"remind-3d #{item_id}": due - 3 * DAY,
        f"remind-1d #{item_id}": due - DAY,
        f"escalate-head #{item_id}": due,
        f"escalate-leader #{item_id}": due + 5 * DAY,
    }
    assert set(first_seen) == set(expected)
    for line, when in expected.items():
        assert when <= first_seen[line] < when + HOURS_6, line  # at the first tick once it is due

    assert len(notes_of("cntt.cv", NotificationKind.REMINDER, "1.a")) == 3  # CNTT's specialist, unheld step
    [head_note] = notes_of("cntt.tp", NotificationKind.ESCALATION, "1.a")
    [leader_note] = notes_of("giamdoc", NotificationKind.ESCALATION, "1.a")
    assert as_utc(leader_note.created_at) - as_utc(head_note.created_at) >= 5 * DAY
    assert notes_of("giamdoc", NotificationKind.REMINDER) == []

    assert marks[local(2025, 2, 21, 9)] == NONE
    assert marks[local(2025, 2, 22, 3)] == DUE_SOON
    assert marks[local(2025, 2, 28, 21)] == DUE_SOON
    assert marks[local(2025, 3, 1, 3)] == OVERDUE
    assert marks[local(2025, 3, 14, 21)] == OVERDUE


def test_an_overdue_step_marks_its_task_until_it_is_done(app, clock):
    clock.move_to(local(2025, 3, 10))
    t1b = task("1.b")  # its own deadline: 30/07/2025
    start_process(t1b, user("cntt.cv"))
    for step, actor in (("draft", "cntt.cv"), ("review_draft", "cntt.tp")):
        item = open_item(t1b, step)
        advance(item, user(actor), sample_data(form_of(item)), None)
    opinions = open_items(t1b, "collect_opinions")
    # ten working days from Monday 10/03: Monday 24/03, to the end of the day in Hà Nội
    end_of_24th = datetime(2025, 3, 24, 23, 59, 59, tzinfo=LOCAL_TZ)
    assert {as_utc(item.due_at) for item in opinions} == {end_of_24th}

    clock.move_to(local(2025, 3, 14))
    tick_twice()
    assert mark_of("1.b") == NONE  # ten days before
    clock.move_to(local(2025, 3, 18))
    tick_twice()
    assert mark_of("1.b") == DUE_SOON
    clock.move_to(local(2025, 3, 25))
    report = tick_twice()
    assert mark_of("1.b") == OVERDUE
    assert {f"escalate-head #{item.id}" for item in opinions} <= set(report.done["escalations_sent"])

    # The consulted units answer (the outside body's answer is recorded by CNTT's specialist).
    for item in open_items(t1b, "collect_opinions"):
        actor = "vp.cv" if item.item_unit.code == "VP" else "cntt.cv"
        advance(item, user(actor), sample_data(form_of(item)), None)
    assert open_items(t1b, "consolidate")
    report = tick_twice()
    assert f"1.b #{t1b.id}: overdue -> -" in report.done["marks_updated"]
    assert mark_of("1.b") == NONE

    clock.move_to(local(2025, 7, 25))  # consolidation is due with the task: the end of 30/07
    tick_twice()
    assert mark_of("1.b") == DUE_SOON
    clock.move_to(local(2025, 7, 31))
    tick_twice()
    assert mark_of("1.b") == OVERDUE
