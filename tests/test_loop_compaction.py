"""A returned step does not make the instance's stored state grow (workflows/loop_compaction.py).

Task 1.a runs draft_plan: `draft` → `review_draft` (return goes back to `draft`) → opinions →
`consolidate` → `leader_approval` (return goes back to `consolidate`) → … The state stored after ten
returns must hold as many tasks as after one, and everything the product reads from it — the open
steps, their data, the path on the diagram, the process running to its end — must be as without it.
"""

from __future__ import annotations

import pytest
from SpiffWorkflow.util.task import TaskState as SpiffState

from app.models import TaskState
from tests.engine_helpers import instance_of, open_item, open_items, task, user
from tests.test_engine import CONSULTED, DRAFT, act, to_consolidate, to_review
from workflows.diagram_path import diagram_state
from workflows.engine import advance
from workflows.loop_compaction import compact_loops
from workflows.runtime import complete_user_task, dump_workflow, load_workflow, loaded_spec


@pytest.fixture
def t1a(app):
    return task("1.a")


def stored_tasks(task_obj) -> int:
    return len(instance_of(task_obj).state["tasks"])


def draft_returned(task_obj, times: int) -> None:
    for number in range(times):
        act(task_obj, "review_draft", {"decision": "return"}, f"Sửa lần {number + 1}")
        act(task_obj, "draft", {**DRAFT, "summary": f"Dự thảo lần {number + 2}"})


def workflow_of(task_obj):
    instance = instance_of(task_obj)
    return load_workflow(loaded_spec(instance.definition), instance.state)


def test_ten_returns_store_no_more_tasks_than_one(t1a):
    to_review(t1a)
    draft_returned(t1a, 1)
    after_one = stored_tasks(t1a)
    draft_returned(t1a, 9)
    assert stored_tasks(t1a) == after_one
    assert open_item(t1a, "review_draft") is not None


def test_the_open_step_carries_the_latest_data_after_returns(t1a):
    to_review(t1a)
    draft_returned(t1a, 10)
    workflow = workflow_of(t1a)
    (ready,) = workflow.get_tasks(state=SpiffState.READY, manual=True)
    assert ready.task_spec.bpmn_id == "review_draft"
    assert ready.data["summary"] == "Dự thảo lần 11"
    assert ready.data["consulted_units"] == CONSULTED


def test_the_diagram_still_shows_every_step_and_the_loop_back_taken(t1a):
    to_review(t1a)
    before = diagram_state(instance_of(t1a))
    draft_returned(t1a, 5)
    after = diagram_state(instance_of(t1a))
    assert {"draft", "review_decision"} <= set(after["completed"])
    assert after["current"] == ["review_draft"]
    assert set(before["flows"]) < set(after["flows"])  # the flow back to the draft was taken


def test_a_process_with_returns_in_both_loops_runs_to_its_end(t1a):
    to_review(t1a)
    draft_returned(t1a, 4)
    act(t1a, "review_draft", {"decision": "approve"})
    assert len(open_items(t1a, "collect_opinions")) == 3
    for code in CONSULTED:
        act(t1a, "collect_opinions", item_unit=code)
    for number in range(4):
        act(t1a, "consolidate", {"accepted": f"Lần {number + 1}", "explanation": "Giải trình"})
        act(t1a, "leader_approval", {"decision": "return"}, "Bổ sung")
    act(t1a, "consolidate", {"accepted": "Lần cuối", "explanation": "Giải trình"})
    workflow = workflow_of(t1a)
    (ready,) = workflow.get_tasks(state=SpiffState.READY, manual=True)
    assert ready.data["accepted"] == "Lần cuối"
    assert len(ready.data["opinions"]) == 3  # every consulted body's opinion is still there
    for step in ("leader_approval", "submit_to_committee"):
        act(t1a, step, {"decision": "approve"} if step == "leader_approval" else None)
    item = open_item(t1a, "record_issuance")
    advance(
        item,
        user("cntt.cv"),
        {"issued_number": "9/KH-UBND", "issued_date": "2025-04-01", "result": "Đã ban hành"},
    )
    assert (t1a.state, t1a.result) == (TaskState.COMPLETED, "Đã ban hành")


def test_multi_instance_items_are_never_cut(t1a):
    to_consolidate(t1a)
    workflow = workflow_of(t1a)
    items = [t for t in workflow.get_tasks() if t.task_spec.name.endswith("[child]")]
    assert len(items) == 3
    assert compact_loops(workflow) == 0


def test_a_compacted_state_restores_to_the_same_open_steps_and_data(t1a):
    """Compaction against SpiffWorkflow's own uncompacted run of the same steps."""
    to_review(t1a)
    instance = instance_of(t1a)
    loaded = loaded_spec(instance.definition)
    plain = load_workflow(loaded, instance.state)
    for number in range(6):
        for spec_id, data in (
            ("review_draft", {"decision": "return"}),
            ("draft", {**DRAFT, "summary": f"Bản {number}"}),
        ):
            (ready,) = plain.get_tasks(state=SpiffState.READY, manual=True)
            assert ready.task_spec.bpmn_id == spec_id
            complete_user_task(plain, ready, data)
    compacted = load_workflow(loaded, dump_workflow(plain))
    assert compact_loops(compacted) > 0
    restored = load_workflow(loaded, dump_workflow(compacted))
    assert len(restored.tasks) < len(plain.tasks)

    def open_steps(workflow):
        return [
            (t.task_spec.bpmn_id, t.data)
            for t in workflow.get_tasks(state=SpiffState.READY | SpiffState.WAITING)
        ]

    assert open_steps(restored) == open_steps(plain)
    assert restored.last_task.task_spec is plain.last_task.task_spec
    assert restored.last_task.data == plain.last_task.data
    assert compact_loops(restored) == 0  # nothing left to cut
