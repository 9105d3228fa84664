"""The plan's monthly reporting cycle (app/services/reporting.py, workflows/periods.py).

The demo plan's reporting rules: every unit reports its tasks' results to Phòng Công nghệ thông tin by
the 15th; CNTT consolidates for UBND tỉnh, the leader approves, the review meeting on the 20th is
recorded. The import makes them reporting tasks (kind `report`), kept apart from the plan's 28 tasks;
the scheduler starts one `monthly_report` per unit and one `monthly_consolidation` each month. The
time-travel test moves the clock with time-machine and drives every step through the JSON API with
the demo accounts, the way a unit's specialist, its head, CNTT and the leader would.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from lxml import html
from sqlalchemy import func, select

from app.extensions import db
from app.models import InstanceStatus, Plan, ProcessInstance, Task, TaskState, WorkItem, WorkItemStatus
from app.models.plans import TaskKind
from app.services.clock import LOCAL_TZ
from app.services.demo import DEMO_PLAN_PATH, DEMO_UNITS_PATH
from app.services.five_clears import missing_clears
from app.services.plan_import import import_plan_files
from app.services.reporting import ensure_reporting_tasks, reporting_overview
from tests.engine_helpers import dump_tables, task
from workflows.periods import cadence, periods_due
from workflows.scheduler import TickReport, tick

UNITS = ["VP", "KHTC", "CNTT", "HTS", "QLKH", "QLCN", "TTCNTT", "TTUD"]  # lead or sub-lead a plan task
REPORT_CODES = [f"BC-{code}" for code in UNITS]
CODES = ["BC-TH", *REPORT_CODES]


def local(year, month, day, hour=9, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LOCAL_TZ)


def as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def plan() -> Plan:
    return db.session.scalar(select(Plan))


def reporting_tasks() -> list[Task]:
    query = select(Task).where(Task.kind == TaskKind.REPORT).order_by(Task.position)
    return list(db.session.scalars(query))


# --------------------------------------------------------------------------- the tasks


def test_the_import_makes_one_report_task_per_unit_and_one_consolidation(app):
    tasks = reporting_tasks()
    assert [t.code for t in tasks] == CODES
    consolidation, *reports = tasks
    assert (consolidation.task_type, consolidation.lead_unit.code) == ("monthly_consolidation", "CNTT")
    assert consolidation.title == "Tổng hợp báo cáo tháng kết quả thực hiện Kế hoạch gửi UBND tỉnh"
    assert consolidation.deadline_raw == "Ngày 20 hằng tháng"
    for report, unit_code in zip(reports, UNITS, strict=True):
        assert (report.task_type, report.lead_unit.code, report.lead_sub_unit) == (
            "monthly_report",
            unit_code,
            None,
        )
        assert report.title == f"Báo cáo tháng kết quả thực hiện Kế hoạch của {report.lead_unit.name}"
        assert report.deadline_raw == "Ngày 15 hằng tháng"
    last_section = max(plan().sections, key=lambda s: s.position)
    own_positions = [t.position for t in plan().tasks if t.kind == TaskKind.PLAN]
    for t in tasks:
        assert t.section_id == last_section.id and t.position > max(own_positions)
        assert cadence(t) == "month" and t.state == TaskState.NOT_STARTED
        assert t.expected_result and t.content
        assert missing_clears(t) == ["person"]  # work, unit, time and result are clear; nobody assigned yet
    # Leadership, groups and outside bodies do not report; the plan's 28 tasks are untouched.
    assert db.session.scalar(select(func.count()).where(Task.kind == TaskKind.PLAN)) == 28


def test_ensuring_twice_and_importing_twice_change_nothing(app):
    before = dump_tables()
    outcomes = ensure_reporting_tasks(plan())
    assert [(o.code, o.created, o.changed) for o in outcomes] == [(code, False, False) for code in CODES]
    stats = import_plan_files(DEMO_PLAN_PATH, DEMO_UNITS_PATH)
    assert not stats.changed
    assert (
        stats.reporting_tasks.describe("reporting tasks")
        == "9 reporting tasks (0 created, 0 updated, 9 unchanged)"
    )
    db.session.expire_all()
    assert dump_tables() == before


def test_a_changed_task_is_brought_back_and_a_plan_without_the_rule_gets_none(app):
    report = task("BC-VP")
    report.title, report.recurrence = "Sửa tay", []
    db.session.commit()
    outcomes = {o.code: o for o in ensure_reporting_tasks(plan())}
    assert (outcomes["BC-VP"].created, outcomes["BC-VP"].changed) == (False, True)
    assert not outcomes["BC-TH"].changed
    assert task("BC-VP").title.startswith("Báo cáo tháng") and cadence(task("BC-VP")) == "month"

    the_plan = plan()
    the_plan.reporting_rules = {k: v for k, v in the_plan.reporting_rules.items() if k != "monthly_report"}
    assert ensure_reporting_tasks(the_plan) == []


# --------------------------------------------------------------------------- lists


def test_the_api_lists_the_plans_own_tasks_unless_asked_for_the_reporting_ones(client, api_token):
    headers = {"Authorization": f"Bearer {api_token('cntt.cv')}"}
    own = client.get("/api/v1/plans/1/tasks", headers=headers).get_json()["items"]
    assert len(own) == 28 and not any(t["code"].startswith("BC-") for t in own)
    assert client.get("/api/v1/plans/1/tasks?kind=plan", headers=headers).get_json()["items"] == own
    reports = client.get("/api/v1/plans/1/tasks?kind=report", headers=headers).get_json()["items"]
    assert [t["code"] for t in reports] == CODES
    assert {t["task_type"] for t in reports} == {"monthly_report", "monthly_consolidation"}
    vp = client.get("/api/v1/plans/1/tasks?kind=report&unit=VP", headers=headers).get_json()["items"]
    assert [t["code"] for t in vp] == ["BC-VP"]
    assert client.get("/api/v1/plans", headers=headers).get_json()["items"][0]["task_count"] == 28

    bad = client.get("/api/v1/plans/1/tasks?kind=everything", headers=headers)
    assert bad.status_code == 422 and set(bad.get_json()["details"]) == {"kind"}


def _plan_page(client, auth) -> html.HtmlElement:
    assert auth.login().status_code == 302
    response = client.get("/plans/1")
    assert response.status_code == 200
    return html.fromstring(response.get_data(as_text=True))


def _reporting_rows(doc) -> dict[str, html.HtmlElement]:
    return {row.get("data-reporting-code"): row for row in doc.xpath("//tr[@data-reporting-code]")}


def test_the_plan_page_shows_the_reporting_tasks_in_their_own_section(client, auth):
    doc = _plan_page(client, auth)
    assert len(doc.xpath("//tr[@data-task-code]")) == 28  # the plan's tasks, as before
    assert "28 nhiệm vụ" in doc.get_element_by_id("task-count").text_content()
    assert doc.get_element_by_id("reporting-heading").text_content().strip() == "Báo cáo định kỳ"
    rows = _reporting_rows(doc)
    assert list(rows) == CODES
    assert {row.get("data-period-status") for row in rows.values()} == {""}  # nothing started yet
    assert "Chưa bắt đầu" in rows["BC-VP"].text_content()
    assert "Ngày 15 hằng tháng" in rows["BC-VP"].text_content()
    assert rows["BC-TH"].xpath(f".//a[@href='/tasks/{task('BC-TH').id}']")


# --------------------------------------------------------------------------- a month through the API


def tick_twice(sent: list[str] | None = None) -> TickReport:
    """Tick twice at the same instant (the second does nothing); reminders and escalations go to `sent`."""
    report = tick()
    again = tick()
    assert all(entries == [] for entries in again.done.values()), again.lines()
    if sent is not None:
        sent += report.done["reminders_sent"] + report.done["escalations_sent"]
    return report


class Api:
    """The JSON API as the demo accounts use it; a fresh token per call (the clock jumps by weeks)."""

    def __init__(self, client, api_token):
        self.client, self.api_token = client, api_token

    def _headers(self, username: str) -> dict:
        return {"Authorization": f"Bearer {self.api_token(username)}"}

    def worklist(self, username: str, code: str) -> list[dict]:
        response = self.client.get("/api/v1/worklist", headers=self._headers(username))
        assert response.status_code == 200
        return [item for item in response.get_json()["items"] if item["task_code"] == code]

    def complete(self, username: str, code: str, step: str, data: dict, comment: str | None = None) -> dict:
        [item] = [i for i in self.worklist(username, code) if i["step"] == step]
        if "assignee" in item["form"].get("required", []):  # "5 rõ": the first step asks who is responsible
            data = data | {"assignee": username}
        body = {"data": data} | ({"comment": comment} if comment else {})
        response = self.client.post(
            f"/api/v1/work-items/{item['id']}/complete", json=body, headers=self._headers(username)
        )
        assert response.status_code == 200, response.get_json()
        return response.get_json()


def period_instance(code: str, period: str) -> ProcessInstance:
    db.session.expire_all()
    query = select(ProcessInstance).where(
        ProcessInstance.task_id == task(code).id, ProcessInstance.period == period
    )
    return db.session.scalars(query).one()


def open_steps(code: str, period: str) -> list[str]:
    instance = period_instance(code, period)
    query = select(WorkItem.step).where(
        WorkItem.instance_id == instance.id, WorkItem.status == WorkItemStatus.OPEN
    )
    return list(db.session.scalars(query.order_by(WorkItem.id)))


@pytest.fixture
def clock():
    with time_machine.travel(local(2025, 3, 1, 0, 5), tick=False) as traveller:
        yield traveller


def test_a_month_of_reports_consolidation_approval_and_meeting_then_the_next_month(
    app, client, api_token, clock
):
    api = Api(client, api_token)
    sent: list[str] = []

    # 1 March: the plan is dated 4 March 2025, so there is no reporting period yet.
    assert tick_twice(sent).done["periods_started"] == []

    # 4 March 08:00: one report per unit and one consolidation for March, started by the system.
    clock.move_to(local(2025, 3, 4, 8))
    started = tick_twice(sent).done["periods_started"]
    assert sorted(e for e in started if e.startswith("BC-")) == sorted(f"{c} 2025-03" for c in CODES)
    for code in REPORT_CODES:
        assert open_steps(code, "2025-03") == ["unit_report"]
        assert task(code).state == TaskState.IN_PROGRESS
    consolidation = period_instance("BC-TH", "2025-03")
    assert open_steps("BC-TH", "2025-03") == []  # waits for the units' deadline
    assert as_utc(consolidation.next_timer_at) == datetime(
        2025, 3, 15, 17, tzinfo=UTC
    )  # 16/03 00:00 in Hà Nội
    assert consolidation.started_by_id is None

    # Văn phòng Sở: its specialist reports, the head sends it back once, then signs.
    [item] = api.worklist("vp.cv", "BC-VP")
    assert (item["step"], item["unit"]) == ("unit_report", "VP")
    due = datetime.fromisoformat(item["due_at"])
    assert due == local(2025, 3, 4, 8) + timedelta(days=14)  # the step's P14D: by the 18th here
    assert api.worklist("cntt.cv", "BC-VP") == []  # another unit's report is not CNTT's work
    summary = {"summary": "Hoàn thành 2/3 nhiệm vụ trong tháng 3."}
    result = api.complete("vp.cv", "BC-VP", "unit_report", summary)
    assert [s["step"] for s in result["next_steps"]] == ["unit_head_sign"]
    api.complete("vp.tp", "BC-VP", "unit_head_sign", {"decision": "return"}, "Bổ sung giải trình 2.b.")
    api.complete("vp.cv", "BC-VP", "unit_report", summary | {"overdue_explanations": "2.b chờ góp ý."})
    result = api.complete("vp.tp", "BC-VP", "unit_head_sign", {"decision": "approve"})
    assert result["next_steps"] == []
    assert period_instance("BC-VP", "2025-03").status == InstanceStatus.COMPLETED
    assert task("BC-VP").state == TaskState.IN_PROGRESS  # a period never completes its task
    api.complete("cntt.cv", "BC-CNTT", "unit_report", summary)
    api.complete("cntt.tp", "BC-CNTT", "unit_head_sign", {"decision": "approve"})

    # Up to the end of the 15th nothing opens for CNTT's consolidation.
    clock.move_to(local(2025, 3, 15, 23, 55))
    assert tick_twice(sent).done["timers_fired"] == []
    assert api.worklist("cntt.cv", "BC-TH") == []

    # The first tick of the 16th opens it.
    clock.move_to(local(2025, 3, 16, 0, 5))
    fired = tick_twice(sent).done["timers_fired"]
    assert fired == [f"BC-TH #{consolidation.id}: Hết hạn báo cáo của các đơn vị (ngày 16)"]
    assert open_steps("BC-TH", "2025-03") == ["consolidate_reports"]
    api.complete("cntt.cv", "BC-TH", "consolidate_reports", {"report": "Báo cáo tổng hợp tháng 3/2025."})
    result = api.complete("giamdoc", "BC-TH", "leader_approval", {"decision": "approve"})
    assert result["next_steps"] == []  # the meeting is on the 20th
    assert open_steps("BC-TH", "2025-03") == []

    clock.move_to(local(2025, 3, 20, 7, 55))
    assert tick_twice(sent).done["timers_fired"] == []
    clock.move_to(local(2025, 3, 20, 8, 5))
    assert tick_twice(sent).done["timers_fired"] == [
        f"BC-TH #{consolidation.id}: Đến ngày họp đánh giá (ngày 20)"
    ]
    [item] = api.worklist("cntt.cv", "BC-TH")
    assert item["step"] == "record_meeting"
    meeting = {
        "meeting_date": "2025-03-20",
        "minutes": "Họp đánh giá tháng 3.",
        "decisions": "Đẩy nhanh 2.b.",
    }
    api.complete("cntt.cv", "BC-TH", "record_meeting", meeting)
    assert period_instance("BC-TH", "2025-03").status == InstanceStatus.COMPLETED
    assert task("BC-TH").state == TaskState.IN_PROGRESS

    # The plan page shows this month's state of each reporting task.
    overview = {row.task.code: row for row in reporting_overview(plan(), date(2025, 3, 20))}
    assert (overview["BC-TH"].status, overview["BC-VP"].status) == ("completed", "completed")
    assert (overview["BC-HTS"].status, overview["BC-HTS"].open_steps) == (
        "running",
        ["Lập báo cáo tháng của đơn vị"],
    )

    # A report nobody sent is reminded and, once past due (the 18th here), escalated to the unit's head;
    # with this test's few ticks: the 3-day reminder on the 15th, the escalation on the 20th, each once.
    hts_march = db.session.scalars(
        select(WorkItem.id).where(WorkItem.instance_id == period_instance("BC-HTS", "2025-03").id)
    ).one()
    assert [line for line in sent if line.endswith(f" #{hts_march}")] == [
        f"remind-3d #{hts_march}",
        f"escalate-head #{hts_march}",
    ]

    # 1 April: fresh instances for April; March's stay as they were.
    clock.move_to(local(2025, 4, 1, 0, 5))
    started = tick_twice(sent).done["periods_started"]
    assert sorted(e for e in started if e.startswith("BC-")) == sorted(f"{c} 2025-04" for c in CODES)
    assert open_steps("BC-VP", "2025-04") == ["unit_report"]
    assert open_steps("BC-TH", "2025-04") == []
    assert open_steps("BC-HTS", "2025-03") == ["unit_report"]  # still owed, and still reminded
    assert period_instance("BC-VP", "2025-03").status == InstanceStatus.COMPLETED
    assert periods_due(task("BC-TH")) == ["2025-04"]  # no catch-up of past months
    [april] = api.worklist("vp.cv", "BC-VP")  # March's report is done: only April's is open
    assert datetime.fromisoformat(april["due_at"]) == local(2025, 4, 15, 0, 5)


def test_the_plan_page_shows_this_months_steps(app, client, auth, clock):
    clock.move_to(local(2025, 3, 4, 8))
    tick()
    doc = _plan_page(client, auth)
    rows = _reporting_rows(doc)
    assert rows["BC-VP"].get("data-period-status") == "running"
    assert "Lập báo cáo tháng của đơn vị" in rows["BC-VP"].text_content()
    assert "hạn 18/03/2025" in rows["BC-VP"].text_content()
    assert "Kỳ này (tháng 03/2025)" in doc.get_element_by_id("reporting-tasks").text_content()
    assert rows["BC-TH"].get("data-period-status") == "running"  # waiting for the 16th: no open step
