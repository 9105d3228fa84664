"""The `draft_plan` process (task 1.a: draft, consult, submit for issuance) on plain SpiffWorkflow.

No Flask here: the BPMN file is parsed with SpiffWorkflow's XSD validator, its forms are checked as
JSON Schema 2020-12 documents, and the whole path (with both "return" loops and the parallel
multi-instance opinion round) is run with a save/restore round trip before every user step, so the
run continues on restored workflows only, as the web views will.
"""

from __future__ import annotations

import re
from functools import partial

import pytest
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from tests import bpmn_raw_helpers as h
from tests.bpmn_raw_helpers import ready_user_tasks, round_trip, user_task_specs

BPMN_FILE = h.BPMN_DIR / "draft_plan.bpmn"
FORMS_DIR = h.BPMN_DIR / "forms" / "draft_plan"
PROCESS_ID = "draft_plan"

LANES = {"Chuyên viên", "Trưởng đơn vị", "Đơn vị được xin ý kiến", "Lãnh đạo Sở"}

# bpmn id -> (lane, unit, roles, task_state, form)
USER_TASKS = {
    "draft": ("Chuyên viên", "lead", "specialist", "drafting", "draft"),
    "review_draft": ("Trưởng đơn vị", "lead", "unit_head", "reviewing", "review_draft"),
    "collect_opinions": (
        "Đơn vị được xin ý kiến",
        "item",
        "specialist,unit_head",
        "collecting_opinions",
        "collect_opinions",
    ),
    "consolidate": ("Chuyên viên", "lead", "specialist", "consolidating", "consolidate"),
    "leader_approval": ("Lãnh đạo Sở", "any", "leader", "awaiting_approval", "leader_approval"),
    "submit_to_committee": (
        "Chuyên viên",
        "lead",
        "specialist",
        "awaiting_approval",
        "submit_to_committee",
    ),
    "record_issuance": ("Chuyên viên", "lead", "specialist", "submitted", "record_issuance"),
}

FORM_KEYS = {
    "draft",
    "review_draft",
    "collect_opinions",
    "collect_opinions_external",
    "consolidate",
    "leader_approval",
    "submit_to_committee",
    "record_issuance",
}

CONSULTED = ["VP", "TTCNTT", "SO_NGANH_DP"]


# --------------------------------------------------------------------------- helpers

parse = partial(h.parse, BPMN_FILE)
load_form = partial(h.load_form, FORMS_DIR)
form_validator = partial(h.form_validator, FORMS_DIR)
assert_form_accepts = partial(h.assert_form_accepts, FORMS_DIR)
complete = partial(h.complete, user_tasks=USER_TASKS, forms_dir=FORMS_DIR)


@pytest.fixture(scope="module")
def parser() -> SpiffBpmnParser:
    return parse()


@pytest.fixture(scope="module")
def spec(parser):
    return parser.get_spec(PROCESS_ID)


# --------------------------------------------------------------------------- structure


def test_parses_with_xsd_validator_and_has_one_executable_process(parser):
    h.assert_one_executable_process(parser, BPMN_FILE, PROCESS_ID, {"Start", "End"})


def test_user_task_ids_are_exactly_the_seven_steps(spec):
    assert set(user_task_specs(spec)) == set(USER_TASKS)


@pytest.mark.parametrize("bpmn_id", sorted(USER_TASKS))
def test_user_task_lane_properties_and_documentation(spec, bpmn_id):
    h.assert_user_task_properties(user_task_specs(spec)[bpmn_id], USER_TASKS[bpmn_id])


RETURN = 'decision == "return"'


def test_collect_opinions_is_parallel_multi_instance_with_extra_properties(spec):
    refs = ("consulted_units", "opinions", "consulted_unit", "opinion")
    props = h.assert_parallel_multi_instance(spec, BPMN_FILE, "collect_opinions", refs)
    assert props["external_form"] == "collect_opinions_external"
    assert props["external_roles"] == "specialist"
    assert props["due"] == "P10D"


def test_gateways_have_default_and_return_conditions():
    h.assert_gateway_loops(
        BPMN_FILE,
        [
            ("review_decision", "flow_review_return", "flow_review_approve", "draft", RETURN),
            ("approval_decision", "flow_approval_return", "flow_approval_approve", "consolidate", RETURN),
        ],
    )


def test_every_lane_is_one_of_the_four_roles_lanes(spec):
    h.assert_lanes(BPMN_FILE, LANES, spec)


def test_xsd_ordering_of_multi_instance_children_is_enforced():
    """loopDataInputRef, loopDataOutputRef, inputDataItem, outputDataItem: in this order only."""
    text = BPMN_FILE.read_text(encoding="utf-8")
    swapped = re.sub(
        r"(<bpmn:loopDataOutputRef>.*?</bpmn:loopDataOutputRef>)(\s*)(<bpmn:inputDataItem [^>]*/>)",
        r"\3\2\1",
        text,
    )
    assert swapped != text
    with pytest.raises(ValidationException):
        parse(swapped.encode("utf-8"))


# --------------------------------------------------------------------------- forms


def test_every_form_key_named_by_a_task_has_a_file(spec):
    assert h.named_form_keys(user_task_specs(spec)) == FORM_KEYS
    h.assert_form_files(FORMS_DIR, FORM_KEYS)


@pytest.mark.parametrize("key", sorted(FORM_KEYS))
def test_form_is_a_valid_2020_12_schema_with_vietnamese_titles(key):
    h.assert_valid_form_schema(FORMS_DIR, key)


@pytest.mark.parametrize("key", ["review_draft", "leader_approval"])
def test_decision_forms_require_a_comment_when_returning(key):
    h.assert_decision_form_requires_comment(load_form(key), "Bổ sung nội dung.")


def test_forms_reject_bad_data():
    draft = form_validator("draft")
    assert draft.is_valid({"consulted_units": ["VP"], "summary": "Dự thảo"})
    assert not draft.is_valid({"consulted_units": [], "summary": "Dự thảo"})
    assert not draft.is_valid({"consulted_units": ["VP", "VP"], "summary": "Dự thảo"})
    assert not draft.is_valid({"consulted_units": ["VP"], "summary": ""})
    assert not draft.is_valid({"consulted_units": ["VP"], "summary": "x", "other": 1})
    assert load_form("draft")["properties"]["consulted_units"]["x-options"] == "consultable_units"
    external = form_validator("collect_opinions_external")
    good = {"opinion": "Nhất trí", "agree": True, "document_number": "12/UBND", "document_date": "2025-03-05"}
    assert external.is_valid(good)
    assert not external.is_valid({**good, "document_date": "05/03/2025"})
    assert not form_validator("collect_opinions").is_valid({"opinion": "Nhất trí", "agree": "có"})
    assert form_validator("consolidate").is_valid({"accepted": "Tiếp thu toàn bộ"})


# --------------------------------------------------------------------------- diagram interchange


def test_every_element_has_di_and_layout_is_tidy():
    h.assert_di_complete_and_tidy(BPMN_FILE, 11, {"flow_review_return", "flow_approval_return"})


# --------------------------------------------------------------------------- execution


def test_full_path_with_both_return_loops_across_restores(parser):
    wf = h.new_workflow(parser, PROCESS_ID)

    draft_data = {"consulted_units": list(CONSULTED), "summary": "Dự thảo Kế hoạch tuyên truyền năm 2025."}
    wf, first_draft = complete(wf, "draft", draft_data)
    wf, _ = complete(wf, "review_draft", {"decision": "return"})

    # Returned: a new READY draft task (a new task, not the completed one).
    wf, second_draft = complete(wf, "draft", {**draft_data, "summary": "Dự thảo đã chỉnh sửa."})
    assert second_draft != first_draft
    wf, _ = complete(wf, "review_draft", {"decision": "approve"})

    # Parallel multi-instance: one READY child per consulted unit, addressed by id.
    wf = round_trip(wf)
    children = ready_user_tasks(wf)
    assert len(children) == 3
    assert {t.task_spec.bpmn_id for t in children} == {"collect_opinions"}
    assert {t.task_spec.name for t in children} == {"collect_opinions [child]"}
    by_unit = {t.data["consulted_unit"]: t.id for t in children}
    assert set(by_unit) == set(CONSULTED)
    mi_task = children[0].parent
    assert mi_task.task_spec.name == "collect_opinions" and mi_task.state == TaskState.STARTED

    for index, unit in enumerate(CONSULTED):
        wf = round_trip(wf)  # restore before every child: merge must still happen afterwards
        task = wf.get_task_from_id(by_unit[unit])
        assert task.state == TaskState.READY
        assert task.task_spec.extensions["properties"]["task_state"] == "collecting_opinions"
        form = {"opinion": f"Ý kiến của {unit}", "agree": unit != "TTCNTT"}
        assert_form_accepts("collect_opinions", form)
        task.set_data(opinion={"unit": unit, **form})
        task.run()
        wf.do_engine_steps()
        remaining = {t.id for t in ready_user_tasks(wf)}
        if index < len(CONSULTED) - 1:
            assert remaining == {by_unit[u] for u in CONSULTED[index + 1 :]}

    wf, first_consolidate = complete(
        wf, "consolidate", {"accepted": "Tiếp thu ý kiến của VP và SO_NGANH_DP."}
    )
    consolidate_task = wf.get_task_from_id(first_consolidate)
    assert len(consolidate_task.data["opinions"]) == 3

    wf, _ = complete(wf, "leader_approval", {"decision": "return"})
    wf, second_consolidate = complete(
        wf,
        "consolidate",
        {"accepted": "Đã bổ sung kinh phí.", "explanation": "Không tiếp thu ý kiến của TTCNTT vì trùng lặp."},
    )
    assert second_consolidate != first_consolidate
    wf, _ = complete(wf, "leader_approval", {"decision": "approve"})
    wf, _ = complete(
        wf, "submit_to_committee", {"submission_number": "45/TTr-SKHCN", "submission_date": "2025-04-02"}
    )
    wf, last = complete(
        wf,
        "record_issuance",
        {"issued_number": "88/KH-UBND", "issued_date": "2025-04-15", "result": "Kế hoạch đã được ban hành."},
    )

    wf = round_trip(wf)
    assert wf.is_completed()
    assert ready_user_tasks(wf) == []
    final = wf.get_task_from_id(last).data
    opinions = final["opinions"]
    assert len(opinions) == 3
    assert [o["unit"] for o in opinions] == CONSULTED
    assert [o["agree"] for o in opinions] == [True, False, True]
    assert final["issued_number"] == "88/KH-UBND"
    assert final["decision"] == "approve"

    # The path actually taken: each step completed the expected number of times.
    assert h.completed_counts(wf, USER_TASKS) == {
        "draft": 2,
        "review_draft": 2,
        "collect_opinions": 3,
        "consolidate": 2,
        "leader_approval": 2,
        "submit_to_committee": 1,
        "record_issuance": 1,
    }
    h.assert_end_reached_once(wf)
