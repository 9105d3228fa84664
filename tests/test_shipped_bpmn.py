"""Every shipped process (bpmn/*.bpmn with bpmn/forms/<key>/) compiles cleanly and runs to its end.

The run uses the engine's runtime functions on the spec as stored on the deployed definition, and
does a save/restore round-trip with the state-only serializer at every user step, continuing on the
restored workflow only (SpiffWorkflow's own BpmnWorkflowTestCase does the same).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import select

from app.extensions import db
from app.models import ProcessDefinition
from tests.engine_helpers import CONSULTED_UNITS, as_json, sample_data, unit
from workflows.definitions import compile_definition
from workflows.deploy import SHIPPED_BPMN_DIR, deploy
from workflows.forms import load_forms
from workflows.runtime import (
    complete_user_task,
    dump_workflow,
    load_workflow,
    loaded_spec,
    multi_instance_items,
    new_workflow,
    ready_user_tasks,
)

SHIPPED = sorted(SHIPPED_BPMN_DIR.glob("*.bpmn"))
# The steps of the all-approve path of each process, in order (multi-instance steps once per unit).
EXPECTED_STEPS = {
    "draft_plan": [
        "draft",
        "review_draft",
        *(["collect_opinions"] * len(CONSULTED_UNITS)),
        "consolidate",
        "leader_approval",
        "submit_to_committee",
        "record_issuance",
    ],
}
MAX_STEPS = 200


def _compiled(path: Path):
    forms = load_forms(path.parent / "forms" / path.stem)
    return compile_definition(path.read_text(encoding="utf-8"), forms, source=path.name)


def test_there_are_shipped_processes():
    assert SHIPPED, f"no *.bpmn in {SHIPPED_BPMN_DIR}"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_compiles_without_problems(path: Path):
    compiled = _compiled(path)  # raises DefinitionError listing every problem
    assert compiled.problems == []
    assert compiled.key == path.stem, "the file name must be the process id (sync_shipped relies on it)"
    assert compiled.steps, "an executable process needs at least one user task"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_user_task_has_a_valid_form(path: Path):
    compiled = _compiled(path)
    for step in compiled.steps.values():
        for key in filter(None, (step.form_key, step.external_form)):
            assert key in compiled.forms, f"{step.step}: no form '{key}'"
            Draft202012Validator.check_schema(compiled.forms[key])
            assert compiled.forms[key].get("type") == "object", f"form '{key}' must describe an object"
        assert step.roles, f"{step.step}: nobody may act"


def _deployed(path: Path) -> ProcessDefinition:
    forms = load_forms(path.parent / "forms" / path.stem)
    result = deploy(path.read_text(encoding="utf-8"), forms, source=path.name)
    db.session.commit()
    return db.session.scalars(
        select(ProcessDefinition).where(
            ProcessDefinition.key == result.key, ProcessDefinition.version == result.version
        )
    ).one()


def _form_for(definition: ProcessDefinition, loaded, spiff_task) -> dict:
    """The step's form; for a multi-instance item of an outside body, its external form."""
    step = loaded.steps[spiff_task.task_spec.bpmn_id]
    key = step.form_key
    if step.unit_rule == "item" and step.external_form:
        input_item, _ = multi_instance_items(spiff_task)
        if not unit(spiff_task.data[input_item]).is_staffed:
            key = step.external_form
    return definition.forms[key]


def _round_trip(loaded, workflow):
    """dump -> load -> dump: both states equal as JSON; return the restored workflow."""
    state = dump_workflow(workflow)
    restored = load_workflow(loaded, state)
    assert as_json(dump_workflow(restored)) == as_json(state)
    assert restored.script_engine is workflow.script_engine
    return restored


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_runs_to_completion_with_a_round_trip_at_every_step(app, path: Path):
    definition = _deployed(path)
    loaded = loaded_spec(definition)
    # `period` as the scheduler gives it to a period instance; a past month, so that the monthly
    # consolidation's timers (the 16th and the 20th of the period) are due as soon as they are reached.
    start = {"task_id": 1, "task_code": "1.a", "lead_unit": "CNTT", "period": "2025-03"}
    workflow = new_workflow(loaded, start)
    visited: list[str] = []
    while not workflow.is_completed():
        assert len(visited) < MAX_STEPS, f"no end after {MAX_STEPS} steps: {visited[-10:]}"
        workflow = _round_trip(loaded, workflow)
        ready = ready_user_tasks(workflow)
        assert ready, f"stuck after {visited}: no READY user task and not completed"
        spiff_task = ready[0]
        complete_user_task(workflow, spiff_task, sample_data(_form_for(definition, loaded, spiff_task)))
        visited.append(spiff_task.task_spec.bpmn_id)
    assert workflow.is_completed()
    assert ready_user_tasks(_round_trip(loaded, workflow)) == []
    if path.stem in EXPECTED_STEPS:
        assert visited == EXPECTED_STEPS[path.stem]
    else:  # a new process: on the all-approve path no step recurs (multi-instance: once per unit)
        counts = Counter(visited)
        for step, count in counts.items():
            limit = len(CONSULTED_UNITS) if loaded.steps[step].unit_rule == "item" else 1
            assert count <= limit, f"{step} visited {count} times on the approve path"
