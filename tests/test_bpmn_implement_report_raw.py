"""The `implement_report` process (tasks 3.b, 4.a, 4.d, 8.a: implement and report) on plain SpiffWorkflow.

No Flask here: the BPMN file is parsed with SpiffWorkflow's XSD validator, its forms are checked as
JSON Schema 2020-12 documents, and the whole path (the "not finished yet" progress loop and both
"return" loops) is run with the sandboxed script engine and a save/restore round trip before every
user step, continuing on restored workflows only, as the web views will.
"""

from __future__ import annotations

from functools import partial

import pytest
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from tests import bpmn_raw_helpers as h
from tests.bpmn_raw_helpers import user_task_specs
from workflows.sandbox import SafeScriptEngine, check_expression

BPMN_FILE = h.BPMN_DIR / "implement_report.bpmn"
FORMS_DIR = h.BPMN_DIR / "forms" / "implement_report"
PROCESS_ID = "implement_report"

LANES = {"Chuyên viên", "Trưởng đơn vị", "Lãnh đạo Sở"}

# bpmn id -> (lane, unit, roles, task_state, form)
USER_TASKS = {
    "assign": ("Trưởng đơn vị", "lead", "unit_head", "in_progress", "assign"),
    "record_progress": ("Chuyên viên", "lead", "specialist", "in_progress", "record_progress"),
    "submit_result": ("Chuyên viên", "lead", "specialist", "in_progress", "submit_result"),
    "head_confirm": ("Trưởng đơn vị", "lead", "unit_head", "reviewing", "head_confirm"),
    "leader_acceptance": ("Lãnh đạo Sở", "any", "leader", "awaiting_approval", "leader_acceptance"),
}

FORM_KEYS = set(USER_TASKS)
RETURN_FLOWS = {"flow_progress_continue", "flow_confirm_return", "flow_acceptance_return"}

SAFE_ENGINE = SafeScriptEngine()


# --------------------------------------------------------------------------- helpers

parse = partial(h.parse, BPMN_FILE)
load_form = partial(h.load_form, FORMS_DIR)
form_validator = partial(h.form_validator, FORMS_DIR)
# The deserializer brings back the unrestricted default script engine: every restore sets the sandbox.
complete = partial(h.complete, user_tasks=USER_TASKS, forms_dir=FORMS_DIR, script_engine=SAFE_ENGINE)
new_workflow = partial(h.new_workflow, process_id=PROCESS_ID, script_engine=SAFE_ENGINE)
assert_ended = partial(h.assert_ended, script_engine=SAFE_ENGINE)


@pytest.fixture(scope="module")
def parser() -> SpiffBpmnParser:
    return parse()


@pytest.fixture(scope="module")
def spec(parser):
    return parser.get_spec(PROCESS_ID)


def completed_counts(wf) -> dict[str, int]:
    return h.completed_counts(wf, USER_TASKS)


# --------------------------------------------------------------------------- structure


def test_parses_with_xsd_validator_and_has_one_executable_process(parser):
    h.assert_one_executable_process(parser, BPMN_FILE, PROCESS_ID, {"Start", "End", "Root"})


def test_user_task_ids_are_exactly_the_five_steps(spec):
    assert set(user_task_specs(spec)) == set(USER_TASKS)


@pytest.mark.parametrize("bpmn_id", sorted(USER_TASKS))
def test_user_task_lane_properties_and_documentation(spec, bpmn_id):
    h.assert_user_task_properties(user_task_specs(spec)[bpmn_id], USER_TASKS[bpmn_id])


def test_task_states_are_known():
    from app.models.plans import TaskState as PlanTaskState

    assert {state for *_, state, _form in USER_TASKS.values()} <= set(PlanTaskState.ALL)


def test_no_multi_instance_step(spec):
    assert not any(type(ts).__name__.endswith("MultiInstanceTask") for ts in spec.task_specs.values())


def test_gateways_have_default_and_loop_conditions():
    gateways = (
        (
            "progress_decision",
            "flow_progress_continue",
            "flow_progress_done",
            "record_progress",
            "finished == False",
        ),
        (
            "confirm_decision",
            "flow_confirm_return",
            "flow_confirm_approve",
            "record_progress",
            'decision == "return"',
        ),
        (
            "acceptance_decision",
            "flow_acceptance_return",
            "flow_acceptance_approve",
            "record_progress",
            'decision == "return"',
        ),
    )
    h.assert_gateway_loops(BPMN_FILE, gateways)
    for *_, condition_text in gateways:
        check_expression(condition_text)  # the sandbox allows it


def test_every_lane_is_one_of_the_roles_lanes(spec):
    h.assert_lanes(BPMN_FILE, LANES, spec)


# --------------------------------------------------------------------------- forms


def test_every_form_key_named_by_a_task_has_a_file(spec):
    named = {ts.extensions["properties"]["form"] for ts in user_task_specs(spec).values()}
    assert named == FORM_KEYS
    h.assert_form_files(FORMS_DIR, FORM_KEYS)


@pytest.mark.parametrize("key", sorted(FORM_KEYS))
def test_form_is_a_valid_2020_12_schema_with_vietnamese_titles(key):
    h.assert_valid_form_schema(FORMS_DIR, key)


@pytest.mark.parametrize("key", ["head_confirm", "leader_acceptance"])
def test_decision_forms_require_a_comment_when_returning(key):
    h.assert_decision_form_requires_comment(load_form(key), "Bổ sung minh chứng.")


def test_forms_reject_bad_data():
    assign = form_validator("assign")
    assert assign.is_valid({"assignee": "cntt.cv", "plan": "Triển khai trong quý II."})
    assert not assign.is_valid({"assignee": "", "plan": "Kế hoạch"})
    assert not assign.is_valid({"plan": "Kế hoạch"})
    progress = form_validator("record_progress")
    good = {"percent": 40, "done": "Đã khảo sát 3 đơn vị.", "finished": False}
    assert progress.is_valid(good)
    assert progress.is_valid({**good, "difficulties": "Thiếu kinh phí."})
    assert progress.is_valid({**good, "difficulties": ""})  # optional
    assert progress.is_valid({**good, "percent": 0}) and progress.is_valid({**good, "percent": 100})
    assert not progress.is_valid({**good, "percent": 101})
    assert not progress.is_valid({**good, "percent": -1})
    assert not progress.is_valid({**good, "percent": 12.5})
    assert not progress.is_valid({**good, "finished": "có"})
    assert not progress.is_valid({"percent": 40, "done": "x"})  # the loop needs `finished`
    assert "difficulties" not in load_form("record_progress")["required"]
    result = form_validator("submit_result")
    assert result.is_valid({"result": "Hoàn thành.", "evidence": "Báo cáo số 12/BC-CNTT."})
    assert not result.is_valid({"result": "Hoàn thành."})
    assert not result.is_valid({"result": "", "evidence": "x"})


# --------------------------------------------------------------------------- diagram interchange


def test_every_element_has_di_and_layout_is_tidy():
    h.assert_di_complete_and_tidy(BPMN_FILE, 10, RETURN_FLOWS)


# --------------------------------------------------------------------------- execution


def progress(percent: int, finished: bool, **extra) -> dict:
    return {"percent": percent, "done": f"Đã thực hiện {percent}% khối lượng.", "finished": finished, **extra}


def test_full_path_with_progress_loop_and_both_return_loops_across_restores(parser):
    wf = new_workflow(parser)
    wf, _ = complete(wf, "assign", {"assignee": "cntt.cv", "plan": "Triển khai trong quý II."})

    # Not finished: the progress step comes back, as a new task.
    wf, first_progress = complete(wf, "record_progress", progress(30, False, difficulties="Chậm kinh phí."))
    wf, second_progress = complete(wf, "record_progress", progress(70, False))
    assert second_progress != first_progress
    wf, _ = complete(wf, "record_progress", progress(100, True))
    result = {"result": "Đã hoàn thành nhiệm vụ.", "evidence": "Báo cáo số 12/BC-CNTT."}
    wf, _ = complete(wf, "submit_result", result)

    # The unit head returns it: progress again (the old `finished` is overwritten by the new form).
    wf, _ = complete(wf, "head_confirm", {"decision": "return"})
    wf, _ = complete(wf, "record_progress", progress(90, False))
    wf, _ = complete(wf, "record_progress", progress(100, True))
    wf, _ = complete(wf, "submit_result", result)
    wf, _ = complete(wf, "head_confirm", {"decision": "approve"})

    # The leader returns it: progress again.
    wf, _ = complete(wf, "leader_acceptance", {"decision": "return"})
    wf, _ = complete(wf, "record_progress", progress(100, True))
    wf, _ = complete(wf, "submit_result", {**result, "result": "Đã hoàn thành, bổ sung số liệu."})
    wf, _ = complete(wf, "head_confirm", {"decision": "approve"})
    wf, last = complete(wf, "leader_acceptance", {"decision": "approve"})

    assert_ended(wf)
    final = wf.get_task_from_id(last).data
    assert final["assignee"] == "cntt.cv"
    assert final["percent"] == 100 and final["finished"] is True
    assert final["result"] == "Đã hoàn thành, bổ sung số liệu."
    assert final["decision"] == "approve"
    assert completed_counts(wf) == {
        "assign": 1,
        "record_progress": 6,
        "submit_result": 3,
        "head_confirm": 3,
        "leader_acceptance": 2,
    }


def test_finished_at_once_is_the_straight_path(parser):
    wf = new_workflow(parser)
    wf, _ = complete(wf, "assign", {"assignee": "cntt.cv", "plan": "Kế hoạch."})
    wf, _ = complete(wf, "record_progress", progress(100, True))
    wf, _ = complete(wf, "submit_result", {"result": "Hoàn thành.", "evidence": "Biên bản."})
    wf, _ = complete(wf, "head_confirm", {"decision": "approve"})
    wf, _ = complete(wf, "leader_acceptance", {"decision": "approve"})
    assert_ended(wf)
    assert completed_counts(wf) == dict.fromkeys(USER_TASKS, 1)
