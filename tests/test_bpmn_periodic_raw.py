"""The periodic processes on plain SpiffWorkflow: one period (a month or a year) per instance.

- `continuous_duty` (tasks 2.a, 8.c, 10.a): period_report → head_review (return → period_report).
- `monthly_report` (one per unit and month): unit_report (due `P14D`: the period starts on the 1st,
  so ≈ the 15th) → unit_head_sign (return → unit_report).
- `monthly_consolidation` (Phòng CNTT, one per month): timer `wait_for_unit_reports` (the 16th of
  the period, 00:00 in Hà Nội) → consolidate_reports → leader_approval (return → consolidate_reports)
  → timer `wait_for_meeting` (the 20th, 08:00) → record_meeting.

A scheduler starts each instance with `period` ("2025-03" or "2025") in the instance data; nothing
loops over periods inside an instance; the only timers are the consolidation's two dates. No Flask
here: each file is parsed with SpiffWorkflow's XSD validator, its forms are checked as JSON Schema
2020-12 documents, and every path (with each "return" loop) is run with a save/restore round trip
before every user step, continuing on the restored workflow only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from app.models import TaskState as PlanTaskState
from tests import bpmn_raw_helpers as h
from tests.bpmn_raw_helpers import BPMN_DIR, NS, ready_user_tasks, round_trip

CV, TDV, LDS = "Chuyên viên", "Trưởng đơn vị", "Lãnh đạo Sở"


@dataclass(frozen=True)
class Process:
    key: str
    name: str
    lanes: frozenset[str]
    # bpmn id -> (lane, unit, roles, task_state, form)
    user_tasks: dict[str, tuple[str, str, str, str, str]]
    # (gateway, return flow, default flow, back to)
    gateways: tuple[tuple[str, str, str, str], ...]
    decision_forms: tuple[str, ...]
    flow_nodes: int
    period: str
    # The path to run: (step, data); a "return" decision goes back.
    path: tuple[tuple[str, dict], ...]
    # How often each step completes on that path.
    counts: dict[str, int]
    # bpmn id -> the step's `due` property (steps not named have none)
    due: dict[str, str] = field(default_factory=dict)
    # intermediate timer catch event id -> (timeDate expression, due moment for `period`)
    timers: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def file(self) -> Path:
        return BPMN_DIR / f"{self.key}.bpmn"

    @property
    def forms_dir(self) -> Path:
        return BPMN_DIR / "forms" / self.key

    @property
    def form_keys(self) -> set[str]:
        return {form for *_rest, form in self.user_tasks.values()}


REPORT = {"done": "Rà soát, cập nhật dữ liệu.", "results": "Cập nhật 120 hồ sơ.", "percent": 40}
UNIT_REPORT = {"summary": "Hoàn thành 3/4 nhiệm vụ trong tháng."}
RETURN = {"decision": "return"}
APPROVE = {"decision": "approve"}

PROCESSES = {
    "continuous_duty": Process(
        key="continuous_duty",
        name="Nhiệm vụ thường xuyên (một kỳ)",
        lanes=frozenset({CV, TDV}),
        user_tasks={
            "period_report": (CV, "lead", "specialist", "in_progress", "period_report"),
            "head_review": (TDV, "lead", "unit_head", "reviewing", "head_review"),
        },
        gateways=(
            ("head_decision", "flow_head_decision_return", "flow_head_decision_approve", "period_report"),
        ),
        decision_forms=("head_review",),
        flow_nodes=5,
        period="2025-03",
        path=(
            ("period_report", REPORT),
            ("head_review", RETURN),
            ("period_report", {**REPORT, "difficulties": "Thiếu nhân lực.", "percent": 100}),
            ("head_review", APPROVE),
        ),
        counts={"period_report": 2, "head_review": 2},
    ),
    "monthly_report": Process(
        key="monthly_report",
        name="Báo cáo tháng",
        lanes=frozenset({CV, TDV}),
        user_tasks={
            "unit_report": (CV, "lead", "specialist", "in_progress", "unit_report"),
            "unit_head_sign": (TDV, "lead", "unit_head", "reviewing", "unit_head_sign"),
        },
        gateways=(
            ("sign_decision", "flow_sign_decision_return", "flow_sign_decision_approve", "unit_report"),
        ),
        decision_forms=("unit_head_sign",),
        flow_nodes=5,
        period="2025-04",
        path=(
            ("unit_report", UNIT_REPORT),
            ("unit_head_sign", RETURN),
            (
                "unit_report",
                {
                    **UNIT_REPORT,
                    "overdue_explanations": "Nhiệm vụ 1.b chậm do chờ ý kiến góp ý.",
                    "proposals": "Đề nghị gia hạn đến 30/5.",
                },
            ),
            ("unit_head_sign", APPROVE),
        ),
        counts={"unit_report": 2, "unit_head_sign": 2},
        due={"unit_report": "P14D"},
    ),
    "monthly_consolidation": Process(
        key="monthly_consolidation",
        name="Tổng hợp báo cáo tháng",
        lanes=frozenset({CV, LDS}),
        user_tasks={
            "consolidate_reports": (CV, "lead", "specialist", "consolidating", "consolidate_reports"),
            "leader_approval": (LDS, "any", "leader", "awaiting_approval", "leader_approval"),
            "record_meeting": (CV, "lead", "specialist", "submitted", "record_meeting"),
        },
        gateways=(
            ("approval_decision", "flow_approval_return", "flow_approval_approve", "consolidate_reports"),
        ),
        decision_forms=("leader_approval",),
        flow_nodes=8,
        period="2025-05",
        path=(
            ("consolidate_reports", {"report": "Báo cáo tổng hợp tháng 5."}),
            ("leader_approval", RETURN),
            ("consolidate_reports", {"report": "Báo cáo tổng hợp tháng 5 (bổ sung số liệu)."}),
            ("leader_approval", APPROVE),
            (
                "record_meeting",
                {"meeting_date": "2025-05-20", "minutes": "Họp đánh giá.", "decisions": "Đẩy nhanh 1.b."},
            ),
        ),
        counts={"consolidate_reports": 2, "leader_approval": 2, "record_meeting": 1},
        due={"consolidate_reports": "P3D", "record_meeting": "P3D"},
        timers={
            "wait_for_unit_reports": ('period + "-16T00:00:00+07:00"', "2025-05-15T17:00:00+00:00"),
            "wait_for_meeting": ('period + "-20T08:00:00+07:00"', "2025-05-20T01:00:00+00:00"),
        },
    ),
}
KEYS = sorted(PROCESSES)
ALL_FORMS = sorted((key, form) for key in KEYS for form in PROCESSES[key].form_keys)
DECISION_FORMS = sorted((key, form) for key in KEYS for form in PROCESSES[key].decision_forms)


# --------------------------------------------------------------------------- helpers


def parse(process: Process) -> SpiffBpmnParser:
    return h.parse(process.file)


def tree(process: Process):
    return etree.parse(str(process.file))


def user_task_specs(process: Process) -> dict[str, UserTask]:
    return h.user_task_specs(parse(process).get_spec(process.key))


def load_form(key: str, form: str) -> dict:
    return h.load_form(BPMN_DIR / "forms" / key, form)


def form_validator(key: str, form: str):
    return h.form_validator(BPMN_DIR / "forms" / key, form)


# --------------------------------------------------------------------------- structure


@pytest.mark.parametrize("key", KEYS)
def test_parses_with_xsd_validator_and_has_one_executable_process(key):
    process = PROCESSES[key]
    doc = h.assert_one_executable_process(parse(process), process.file, key, {"Start", "End", "Root"})
    assert doc.find("bpmn:process", NS).get("name") == process.name


@pytest.mark.parametrize("key", KEYS)
def test_user_task_ids_are_exactly_the_steps(key):
    assert set(user_task_specs(PROCESSES[key])) == set(PROCESSES[key].user_tasks)


@pytest.mark.parametrize(("key", "bpmn_id"), [(k, t) for k in KEYS for t in sorted(PROCESSES[k].user_tasks)])
def test_user_task_lane_properties_and_documentation(key, bpmn_id):
    task_spec = user_task_specs(PROCESSES[key])[bpmn_id]
    h.assert_user_task_properties(task_spec, PROCESSES[key].user_tasks[bpmn_id])
    props = task_spec.extensions["properties"]
    due = PROCESSES[key].due.get(bpmn_id)
    assert set(props) == {"unit", "roles", "task_state", "form"} | ({"due"} if due else set())
    assert props.get("due") == due
    assert PROCESSES[key].user_tasks[bpmn_id][3] in PlanTaskState.ALL


@pytest.mark.parametrize("key", KEYS)
def test_gateways_have_default_and_return_conditions(key):
    doc = tree(PROCESSES[key])
    gateways = doc.findall("bpmn:process/bpmn:exclusiveGateway", NS)
    assert {g.get("id") for g in gateways} == {g for g, *_ in PROCESSES[key].gateways}
    for gateway, ret, default, back_to in PROCESSES[key].gateways:
        node = doc.find(f"bpmn:process/bpmn:exclusiveGateway[@id='{gateway}']", NS)
        assert node.get("default") == default
        flow = doc.find(f"bpmn:process/bpmn:sequenceFlow[@id='{ret}']", NS)
        assert flow.get("sourceRef") == gateway and flow.get("targetRef") == back_to
        assert flow.find("bpmn:conditionExpression", NS).text.strip() == 'decision == "return"'
        default_flow = doc.find(f"bpmn:process/bpmn:sequenceFlow[@id='{default}']", NS)
        assert default_flow.find("bpmn:conditionExpression", NS) is None
    conditions = doc.findall(".//bpmn:conditionExpression", NS)
    assert len(conditions) == len(PROCESSES[key].gateways)


@pytest.mark.parametrize("key", KEYS)
def test_lanes_are_the_roles_lanes(key):
    h.assert_lanes(PROCESSES[key].file, PROCESSES[key].lanes)


@pytest.mark.parametrize("key", KEYS)
def test_no_loops_or_scripts_and_only_the_dated_timers(key):
    """One period per instance: the scheduler starts instances; nothing loops over periods. The only
    timers are intermediate catch events on a date of the instance's own period."""
    doc = tree(PROCESSES[key])
    for tag in ("standardLoopCharacteristics", "multiInstanceLoopCharacteristics", "boundaryEvent"):
        assert doc.find(f".//bpmn:{tag}", NS) is None, tag
    timers = {}
    for definition in doc.iterfind(".//bpmn:timerEventDefinition", NS):
        event = definition.getparent()
        assert etree.QName(event).localname == "intermediateCatchEvent"
        assert [etree.QName(c).localname for c in definition] == ["timeDate"]
        timers[event.get("id")] = definition.find("bpmn:timeDate", NS).text.strip()
        assert event.find("bpmn:documentation", NS).text.strip()
    assert timers == {name: expression for name, (expression, _due) in PROCESSES[key].timers.items()}
    for tag in ("scriptTask", "serviceTask", "businessRuleTask", "subProcess", "callActivity"):
        assert doc.find(f".//bpmn:{tag}", NS) is None, tag


# --------------------------------------------------------------------------- forms


@pytest.mark.parametrize("key", KEYS)
def test_every_form_key_named_by_a_task_has_a_file(key):
    process = PROCESSES[key]
    named = {t.extensions["properties"]["form"] for t in user_task_specs(process).values()}
    assert named == process.form_keys
    h.assert_form_files(process.forms_dir, process.form_keys)


@pytest.mark.parametrize(("key", "form"), ALL_FORMS)
def test_form_is_a_valid_2020_12_schema_with_vietnamese_titles(key, form):
    schema = h.assert_valid_form_schema(BPMN_DIR / "forms" / key, form, f"{key}/{form}")
    for name, prop in schema["properties"].items():
        where = f"{key}/{form}.{name}"
        if prop.get("type") == "string" and "format" not in prop and "enum" not in prop:
            assert prop["x-widget"] == "textarea", where
            assert prop["maxLength"] > 0, where
            assert (prop.get("minLength", 0) >= 1) == (name in schema["required"]), where


@pytest.mark.parametrize(("key", "form"), DECISION_FORMS)
def test_decision_forms_require_a_comment_when_returning(key, form):
    schema = load_form(key, form)
    assert set(schema["properties"]) == {"decision"}
    h.assert_decision_form_requires_comment(schema, "Bổ sung số liệu.")


def test_forms_accept_good_and_reject_bad_data():
    period = form_validator("continuous_duty", "period_report")
    assert period.is_valid(REPORT)
    assert period.is_valid({**REPORT, "percent": 0}) and period.is_valid({**REPORT, "percent": 100})
    for bad in (101, -1, "50", 50.5, None):
        assert not period.is_valid({**REPORT, "percent": bad}), bad
    assert not period.is_valid({k: v for k, v in REPORT.items() if k != "percent"})
    assert not period.is_valid({**REPORT, "done": ""})
    assert not period.is_valid({**REPORT, "other": 1})
    assert period.is_valid({**REPORT, "difficulties": ""})
    assert load_form("continuous_duty", "period_report")["required"] == ["done", "results", "percent"]

    unit_report = form_validator("monthly_report", "unit_report")
    assert unit_report.is_valid(UNIT_REPORT)
    assert unit_report.is_valid({**UNIT_REPORT, "overdue_explanations": "", "proposals": ""})
    assert not unit_report.is_valid({"summary": ""})
    assert not unit_report.is_valid({"overdue_explanations": "x"})

    assert not form_validator("monthly_consolidation", "consolidate_reports").is_valid({"report": ""})
    meeting = form_validator("monthly_consolidation", "record_meeting")
    good = {"meeting_date": "2025-05-20", "minutes": "Họp đánh giá."}
    assert meeting.is_valid(good) and meeting.is_valid({**good, "decisions": "Kết luận."})
    assert not meeting.is_valid({**good, "meeting_date": "20/05/2025"})
    assert not meeting.is_valid({"meeting_date": "2025-05-20"})


# --------------------------------------------------------------------------- diagram interchange


@pytest.mark.parametrize("key", KEYS)
def test_every_element_has_di_and_layout_is_tidy(key):
    process = PROCESSES[key]
    returns = {ret for _g, ret, _d, _b in process.gateways}
    h.assert_di_complete_and_tidy(process.file, process.flow_nodes, returns, every_node_in_one_lane=True)


# --------------------------------------------------------------------------- execution


def timers(wf, state=TaskState.WAITING) -> dict[str, str]:
    """The workflow's timers in `state` (by default: those it waits on): {bpmn id: due moment, UTC ISO}."""
    waiting = {}
    for task in wf.get_tasks(state=state):
        if isinstance(getattr(task.task_spec, "event_definition", None), TimerEventDefinition):
            value = task._get_internal_data("event_value")
            waiting[task.task_spec.bpmn_id] = TimerEventDefinition.get_datetime(value).isoformat()
    return waiting


def test_consolidation_waits_for_the_16th_and_the_20th_of_its_period():
    """A period still to come: nothing is ready until each date (evaluated from `period`) passes."""
    process = PROCESSES["monthly_consolidation"]
    wf = h.new_workflow(parse(process), process.key, data={"period": "2999-05", "lead_unit": "CNTT"})
    wf = round_trip(wf)
    wf.refresh_timers()
    wf.do_engine_steps()
    assert ready_user_tasks(wf) == []
    assert timers(wf) == {"wait_for_unit_reports": "2999-05-15T17:00:00+00:00"}


@pytest.mark.parametrize("key", KEYS)
def test_full_path_with_return_loop_across_restores(key):
    process = PROCESSES[key]
    # The instance data as the scheduler starts it; its dates are past, so each timer fires as it is reached.
    wf = h.new_workflow(parse(process), key, data={"period": process.period, "lead_unit": "CNTT"})

    seen: dict[str, list] = {}
    last = None
    for bpmn_id, data in process.path:
        wf = round_trip(wf)
        ready = ready_user_tasks(wf)
        assert [t.task_spec.bpmn_id for t in ready] == [bpmn_id]
        task = ready[0]
        lane, _unit, _roles, task_state, form = process.user_tasks[bpmn_id]
        assert task.task_spec.lane == lane
        assert task.task_spec.extensions["properties"]["task_state"] == task_state
        assert task.data["period"] == process.period  # the period reaches every step
        assert task.id not in seen.get(bpmn_id, [])  # a returned step is a new task
        errors = [e.message for e in form_validator(key, form).iter_errors(data)]
        assert not errors, (bpmn_id, data, errors)
        task.set_data(**data)
        task.run()
        wf.do_engine_steps()
        seen.setdefault(bpmn_id, []).append(task.id)
        last = task.id

    wf = round_trip(wf)
    assert wf.is_completed()
    assert ready_user_tasks(wf) == []
    final = wf.get_task_from_id(last).data
    assert final["period"] == process.period
    assert final["decision"] == "approve"
    for bpmn_id, data in reversed(process.path):  # the last data of each step is what remains
        if bpmn_id in process.decision_forms:
            continue
        assert {k: final[k] for k in data} == data
        break

    assert h.completed_counts(wf, process.user_tasks) == process.counts
    assert timers(wf, TaskState.COMPLETED) == {name: due for name, (_expr, due) in process.timers.items()}
    h.assert_end_reached_once(wf)
