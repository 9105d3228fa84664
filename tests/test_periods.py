"""The scheduler starts one process instance per period of each standing duty (workflows/periods.py).

Demo standing duties (task type continuous_duty, plan issued 2025-03-04): 2.a "thường xuyên" → monthly;
8.c and 10.a "thường xuyên, hằng năm" → yearly. The plan's reporting tasks (kind `report`: BC-TH and one
BC-<unit> per reporting unit, app/services/reporting.py) are started monthly too, the current month only
(tests/test_reporting_cycle.py runs them). Times are passed explicitly, never read from the clock.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, InstanceStatus, ProcessInstance, TaskState, WorkItem, WorkItemStatus
from tests.engine_helpers import as_json, open_items, task, user
from workflows.engine import advance
from workflows.periods import periods_due, start_due_periods
from workflows.scheduler import tick

TODAY = date(2025, 5, 20)
NOW = datetime(2025, 5, 20, 1, 0, tzinfo=UTC)  # 08:00 in Hà Nội
FIRST_TICK = [
    ("2.a", "2025-03"),
    ("2.a", "2025-04"),
    ("2.a", "2025-05"),
    ("8.c", "2025"),
    ("10.a", "2025"),
]
REPORTING_CODES = (
    "BC-TH",
    "BC-VP",
    "BC-KHTC",
    "BC-CNTT",
    "BC-HTS",
    "BC-QLKH",
    "BC-QLCN",
    "BC-TTCNTT",
    "BC-TTUD",
)
# The reporting tasks start this month only: no catch-up of March and April.
REPORTING_TICK = [(code, "2025-05") for code in REPORTING_CODES]
EVERY_FIRST_TICK = FIRST_TICK + REPORTING_TICK
REPORT = {"done": "Đã thực hiện", "results": "Kết quả", "percent": 80}
# The "5 rõ" the first step asks for while the duty (2.a, led by VP) lacks them.
FIVE_CLEARS = {"assignee": "vp.cv", "expected_result": "Báo cáo kết quả thực hiện hằng tháng"}


def _instance(code: str, period: str) -> ProcessInstance:
    query = select(ProcessInstance).where(
        ProcessInstance.task_id == task(code).id, ProcessInstance.period == period
    )
    return db.session.scalars(query).one()


def _period_items(instance: ProcessInstance) -> list[WorkItem]:
    query = select(WorkItem).where(
        WorkItem.instance_id == instance.id, WorkItem.status == WorkItemStatus.OPEN
    )
    return list(db.session.scalars(query))


def _state_size(instance: ProcessInstance) -> int:
    return len(as_json(instance.state))


def _same_size(first: ProcessInstance, later: ProcessInstance) -> bool:
    """Equal but for the digits of SpiffWorkflow's float timestamps (last_state_change)."""
    return abs(_state_size(first) - _state_size(later)) <= 16


def _instance_count() -> int:
    return db.session.scalar(select(func.count(ProcessInstance.id)))


def test_periods_due_by_recurrence(app):
    assert periods_due(task("2.a"), TODAY) == ["2025-03", "2025-04", "2025-05"]
    assert periods_due(task("10.a"), TODAY) == ["2025"]
    assert periods_due(task("8.c"), TODAY) == ["2025"]
    assert periods_due(task("10.a"), date(2027, 1, 1)) == ["2025", "2026", "2027"]
    assert periods_due(task("2.a"), date(2025, 3, 4)) == ["2025-03"]
    assert periods_due(task("2.a"), date(2025, 3, 3)) == []  # before the plan was issued
    assert periods_due(task("1.a"), TODAY) == []  # not a standing duty
    assert periods_due(task("BC-CNTT"), TODAY) == ["2025-05"]  # a reporting task: this month only
    assert periods_due(task("BC-TH"), date(2025, 3, 3)) == []


def test_tick_starts_each_due_period_with_one_report_item(app):
    report = tick(NOW)
    assert sorted(report.periods_started) == sorted(f"{c} {p}" for c, p in EVERY_FIRST_TICK)
    for code, period in FIRST_TICK:
        instance = _instance(code, period)
        duty = task(code)
        assert instance.status == InstanceStatus.RUNNING and instance.started_by_id is None
        assert f'"period": "{period}"' in as_json(instance.state)  # in the workflow's initial data
        items = _period_items(instance)
        assert [i.step for i in items] == ["period_report"]
        assert items[0].candidate_unit == (duty.lead_sub_unit or duty.lead_unit)
        assert items[0].roles == ["specialist"]
        assert duty.state == TaskState.IN_PROGRESS
        started = db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.instance_id == instance.id, AuditEvent.action == "process.started"
            )
        ).one()
        assert started.actor_id is None and started.data["period"] == period


def test_second_tick_starts_nothing(app):
    assert len(start_due_periods(TODAY, NOW)) == 5 + 9
    count = _instance_count()
    assert start_due_periods(TODAY, NOW) == []
    assert tick(NOW).periods_started == []
    assert _instance_count() == count


def test_period_state_does_not_grow(app):
    start_due_periods(TODAY, NOW)
    first, third = _instance("2.a", "2025-03"), _instance("2.a", "2025-05")
    assert _same_size(first, third)


def test_twenty_fourth_month_is_as_small_as_the_first(app):
    started = start_due_periods(date(2027, 2, 10), NOW)
    months = [period for code, period in started if code == "2.a"]
    assert len(months) == 24 and months[0] == "2025-03" and months[-1] == "2027-02"
    assert _same_size(_instance("2.a", months[0]), _instance("2.a", months[-1]))
    assert len(open_items(task("2.a"), "period_report")) == 24


def test_two_ticks_at_once_start_each_period_once(app):
    barrier = threading.Barrier(2)
    results: list[list[tuple[str, str]]] = []
    failures: list[BaseException] = []

    def run() -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                results.append(start_due_periods(TODAY, NOW))
            except BaseException as error:
                failures.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures and not any(t.is_alive() for t in threads), failures
    assert sorted(results[0] + results[1]) == sorted(EVERY_FIRST_TICK)
    db.session.expire_all()
    assert _instance_count() == 5 + 9
    periods = db.session.execute(
        select(ProcessInstance.task_id, ProcessInstance.period).where(ProcessInstance.period.is_not(None))
    ).all()
    assert len(periods) == len(set(periods)) == 5 + 9


def test_a_period_runs_to_its_end_and_the_duty_goes_on(app):
    start_due_periods(TODAY, NOW)
    march = _instance("2.a", "2025-03")
    specialist, head = user("vp.cv"), user("vp.tp")

    (report_item,) = _period_items(march)
    # the first report of the duty gives the "5 rõ" it lacks; a returned report need not repeat them
    result = advance(report_item, specialist, {**REPORT, **FIVE_CLEARS})
    assert [i.step for i in result.next_items] == ["head_review"]
    result = advance(result.next_items[0], head, {"decision": "return"}, "Bổ sung số liệu")
    assert [i.step for i in result.next_items] == ["period_report"]
    result = advance(result.next_items[0], specialist, REPORT)
    advance(result.next_items[0], head, {"decision": "approve"})

    db.session.expire_all()
    assert march.status == InstanceStatus.COMPLETED
    duty = task("2.a")
    assert duty.state == TaskState.IN_PROGRESS and duty.progress != 100
    assert _instance("2.a", "2025-04").status == InstanceStatus.RUNNING
    completed = db.session.scalars(
        select(AuditEvent).where(AuditEvent.instance_id == march.id, AuditEvent.action == "process.completed")
    ).one()
    assert completed.data == {"period": "2025-03"}
    assert start_due_periods(TODAY, NOW) == []  # a finished period is not started again


@pytest.mark.parametrize("now", ["2025-05-20T08:00:00", "2025-05-20T01:00:00+00:00"])
def test_tick_command(app, runner, now):
    output = runner.invoke(args=["workflows", "tick", "--now", now])
    assert output.exit_code == 0, output.output
    assert "periods_started: 14" in output.output
    assert "2.a 2025-03" in output.output
    again = runner.invoke(args=["workflows", "tick", "--now", now])
    assert "periods_started: 0" in again.output


def test_tick_command_refuses_a_bad_time(app, runner):
    output = runner.invoke(args=["workflows", "tick", "--now", "yesterday"])
    assert output.exit_code != 0 and "ISO 8601" in output.output
