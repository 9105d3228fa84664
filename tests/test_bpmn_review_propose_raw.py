"""The `review_propose` process (tasks 2.a, 3.a, 6, 7.a: review and propose) on plain SpiffWorkflow.

No Flask here: the BPMN file is parsed with SpiffWorkflow's XSD validator, its forms are checked as
JSON Schema 2020-12 documents, and the whole path (both "return" loops, the parallel multi-instance
contribution round, and a run where no unit is asked to contribute) is run with a save/restore round
trip before every user step, continuing on restored workflows only, as the web views will.
"""

from __future__ import annotations

from functools import partial

import pytest
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from tests import bpmn_raw_helpers as h
from tests.bpmn_raw_helpers import ready_user_tasks, round_trip, user_task_specs
from workflows.forms import validate_form

BPMN_FILE = h.BPMN_DIR / "review_propose.bpmn"
FORMS_DIR = h.BPMN_DIR / "forms" / "review_propose"
PROCESS_ID = "review_propose"

LANES = {"Chuyên viên", "Trưởng đơn vị", "Đơn vị được xin ý kiến", "Lãnh đạo Sở"}

# bpmn id -> (lane, unit, roles, task_state, form)
USER_TASKS = {
    "review": ("Chuyên viên", "lead", "specialist", "in_progress", "review"),
    "contribute": ("Đơn vị được xin ý kiến", "item", "specialist,unit_head", "in_progress", "contribute"),
    "compile_proposals": ("Chuyên viên", "lead", "specialist", "consolidating", "compile_proposals"),
    "head_check": ("Trưởng đơn vị", "lead", "unit_head", "reviewing", "head_check"),
    "leader_approval": ("Lãnh đạo Sở", "any", "leader", "awaiting_approval", "leader_approval"),
}

FORM_KEYS = {
    "review",
    "contribute",
    "contribute_external",
    "compile_proposals",
    "head_check",
    "leader_approval",
}
RETURN_FLOWS = {"flow_check_return", "flow_approval_return"}

COORDINATING = ["VP", "TTCNTT", "SO_NGANH_DP"]


# --------------------------------------------------------------------------- helpers

parse = partial(h.parse, BPMN_FILE)
load_form = partial(h.load_form, FORMS_DIR)
form_validator = partial(h.form_validator, FORMS_DIR)
assert_form_accepts = partial(h.assert_form_accepts, FORMS_DIR)
complete = partial(h.complete, user_tasks=USER_TASKS, forms_dir=FORMS_DIR)
new_workflow = partial(h.new_workflow, process_id=PROCESS_ID)
assert_ended = h.assert_ended


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


RETURN = 'decision == "return"'


def test_contribute_is_parallel_multi_instance_with_extra_properties(spec):
    refs = ("coordinating_units", "contributions", "coordinating_unit", "contribution")
    props = h.assert_parallel_multi_instance(spec, BPMN_FILE, "contribute", refs)
    assert props["external_form"] == "contribute_external"
    assert props["external_roles"] == "specialist"
    assert props["due"] == "P10D"


def test_gateways_have_default_and_return_conditions():
    h.assert_gateway_loops(
        BPMN_FILE,
        [
            ("check_decision", "flow_check_return", "flow_check_approve", "compile_proposals", RETURN),
            (
                "approval_decision",
                "flow_approval_return",
                "flow_approval_approve",
                "compile_proposals",
                RETURN,
            ),
        ],
    )


def test_every_lane_is_one_of_the_four_roles_lanes(spec):
    h.assert_lanes(BPMN_FILE, LANES, spec)


# --------------------------------------------------------------------------- forms


def test_every_form_key_named_by_a_task_has_a_file(spec):
    assert h.named_form_keys(user_task_specs(spec)) == FORM_KEYS
    h.assert_form_files(FORMS_DIR, FORM_KEYS)


@pytest.mark.parametrize("key", sorted(FORM_KEYS))
def test_form_is_a_valid_2020_12_schema_with_vietnamese_titles(key):
    h.assert_valid_form_schema(FORMS_DIR, key)


@pytest.mark.parametrize("key", ["head_check", "leader_approval"])
def test_decision_forms_require_a_comment_when_returning(key):
    h.assert_decision_form_requires_comment(load_form(key), "Bổ sung số liệu.")


def test_forms_reject_bad_data():
    review = form_validator("review")
    assert review.is_valid({"findings": "Rà soát", "coordinating_units": ["VP"]})
    assert review.is_valid({"findings": "Rà soát", "coordinating_units": []})  # nobody to ask
    assert not review.is_valid({"findings": "Rà soát"})
    assert not review.is_valid({"findings": "", "coordinating_units": []})
    assert not review.is_valid({"findings": "Rà soát", "coordinating_units": ["VP", "VP"]})
    assert not review.is_valid({"findings": "x", "coordinating_units": [], "other": 1})
    assert load_form("review")["properties"]["coordinating_units"]["x-options"] == "consultable_units"
    contribute = form_validator("contribute")
    assert contribute.is_valid({"findings": "Đã rà soát", "proposals": "Đề xuất"})
    assert not contribute.is_valid({"findings": "Đã rà soát"})
    external = form_validator("contribute_external")
    good = {
        "findings": "Đã rà soát",
        "proposals": "Đề xuất",
        "document_number": "12/SNN",
        "document_date": "2025-03-05",
    }
    assert external.is_valid(good)
    assert not external.is_valid({**good, "document_date": "05/03/2025"})
    compile_form = form_validator("compile_proposals")
    assert compile_form.is_valid({"proposals": "Đề xuất sửa đổi Quy chế."})
    assert not compile_form.is_valid({"proposals": ""})
    assert not compile_form.is_valid({})


def test_an_empty_unit_list_passes_the_engine_form_check():
    schema = load_form("review")
    data = {"findings": "Không cần phối hợp.", "coordinating_units": []}
    assert validate_form(schema, data, None, unit_exists=lambda code: False) == {}


# --------------------------------------------------------------------------- diagram interchange


def test_every_element_has_di_and_layout_is_tidy():
    h.assert_di_complete_and_tidy(BPMN_FILE, 9, RETURN_FLOWS)


# --------------------------------------------------------------------------- execution


def test_full_path_with_both_return_loops_across_restores(parser):
    wf = new_workflow(parser)
    review = {"findings": "Rà soát Quy chế quản lý nhiệm vụ KH&CN.", "coordinating_units": list(COORDINATING)}
    wf, _ = complete(wf, "review", review)

    # Parallel multi-instance: one READY child per coordinating unit, addressed by id.
    wf = round_trip(wf)
    children = ready_user_tasks(wf)
    assert len(children) == 3
    assert {t.task_spec.bpmn_id for t in children} == {"contribute"}
    by_unit = {t.data["coordinating_unit"]: t.id for t in children}
    assert set(by_unit) == set(COORDINATING)
    mi_task = children[0].parent
    assert mi_task.task_spec.name == "contribute" and mi_task.state == TaskState.STARTED

    for index, unit in enumerate(COORDINATING):
        wf = round_trip(wf)
        task = wf.get_task_from_id(by_unit[unit])
        assert task.state == TaskState.READY
        assert task.task_spec.lane == "Đơn vị được xin ý kiến"
        if unit == "SO_NGANH_DP":
            form_key = "contribute_external"
            form = {
                "findings": f"Kết quả rà soát của {unit}",
                "proposals": "Đề xuất bổ sung",
                "document_number": "15/SNN",
                "document_date": "2025-03-10",
            }
        else:
            form_key = "contribute"
            form = {"findings": f"Kết quả rà soát của {unit}", "proposals": f"Đề xuất của {unit}"}
        assert_form_accepts(form_key, form)
        task.set_data(contribution={"coordinating_unit": unit, **form})
        task.run()
        wf.do_engine_steps()
        remaining = {t.id for t in ready_user_tasks(wf)}
        if index < len(COORDINATING) - 1:
            assert remaining == {by_unit[u] for u in COORDINATING[index + 1 :]}

    wf, first_compile = complete(wf, "compile_proposals", {"proposals": "Đề xuất sửa đổi Điều 5."})
    assert len(wf.get_task_from_id(first_compile).data["contributions"]) == 3

    wf, _ = complete(wf, "head_check", {"decision": "return"})
    wf, second_compile = complete(wf, "compile_proposals", {"proposals": "Đề xuất sửa đổi Điều 5, 7."})
    assert second_compile != first_compile
    wf, _ = complete(wf, "head_check", {"decision": "approve"})
    wf, _ = complete(wf, "leader_approval", {"decision": "return"})
    wf, _ = complete(wf, "compile_proposals", {"proposals": "Đề xuất đã hoàn thiện."})
    wf, _ = complete(wf, "head_check", {"decision": "approve"})
    wf, last = complete(wf, "leader_approval", {"decision": "approve"})

    assert_ended(wf)
    final = wf.get_task_from_id(last).data
    assert [c["coordinating_unit"] for c in final["contributions"]] == COORDINATING
    assert final["proposals"] == "Đề xuất đã hoàn thiện."
    assert final["decision"] == "approve"
    assert completed_counts(wf) == {
        "review": 1,
        "contribute": 3,
        "compile_proposals": 3,
        "head_check": 3,
        "leader_approval": 2,
    }


def test_no_coordinating_unit_skips_the_contribution_round(parser):
    """An empty list gives the multi-instance step no instance: SpiffWorkflow goes straight on."""
    wf = new_workflow(parser)
    wf, _ = complete(wf, "review", {"findings": "Không cần phối hợp.", "coordinating_units": []})
    wf = round_trip(wf)
    ready = ready_user_tasks(wf)
    assert [t.task_spec.bpmn_id for t in ready] == ["compile_proposals"]
    assert ready[0].data["contributions"] == []
    wf, _ = complete(wf, "compile_proposals", {"proposals": "Đề xuất của đơn vị."})
    wf, _ = complete(wf, "head_check", {"decision": "approve"})
    wf, _ = complete(wf, "leader_approval", {"decision": "approve"})
    assert_ended(wf)
    assert completed_counts(wf) == {
        "review": 1,
        "contribute": 0,
        "compile_proposals": 1,
        "head_check": 1,
        "leader_approval": 1,
    }
