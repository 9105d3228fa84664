"""Running SpiffWorkflow: building and loading workflows with OUR script engine, stepping them.

This module is the only place that creates or restores a BpmnWorkflow, so the restricted script
engine is attached in exactly one place (`_with_safe_engine`), including after every load.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskState

from workflows.sandbox import SAFE_SCRIPT_ENGINE
from workflows.serializer import spec_from_dict, spec_to_dict, state_from_dict, state_to_dict
from workflows.steps import StepConfig, step_config


@dataclass(frozen=True)
class LoadedSpec:
    """Everything immutable about one definition version that a step needs, read once per process."""

    spec: object
    subprocess_specs: dict
    steps: dict[str, StepConfig]
    key: str = ""
    version: int = 0
    forms: dict = field(default_factory=dict)
    first_steps: frozenset[str] = frozenset()  # the user tasks the process opens with

    def form(self, form_key: str) -> dict:
        return self.forms.get(form_key, {})


_cache: dict[tuple[int, str], LoadedSpec] = {}
_cache_lock = threading.Lock()


def loaded_spec(definition) -> LoadedSpec:
    """The parsed spec of a definition version, built once per process (versions are immutable)."""
    key = (definition.id, definition.checksum)
    cached = _cache.get(key)
    if cached is None:
        spec, subprocess_specs = restore_stored_spec(definition.spec)
        steps = steps_of(spec, subprocess_specs)
        forms = forms_of(definition)
        cached = LoadedSpec(
            spec, subprocess_specs, steps, definition.key, definition.version, forms, first_steps_of(spec)
        )
        _connect_multi_instance_merges(cached)
        with _cache_lock:
            _cache[key] = cached
    return cached


_forms_cache: dict[tuple[int, str], dict] = {}


def forms_of(definition) -> dict:
    """The forms of a definition version by form key, read once per process (versions are immutable)."""
    key = (definition.id, definition.checksum)
    forms = _forms_cache.get(key)
    if forms is None:
        forms = _forms_cache[key] = dict(definition.forms or {})
    return forms


def steps_of(spec, subprocess_specs: dict) -> dict[str, StepConfig]:
    """The engine's reading of every user task, by element id."""
    specs = (spec, *subprocess_specs.values())
    return {
        ts.bpmn_id: step_config(ts) for s in specs for ts in s.task_specs.values() if isinstance(ts, UserTask)
    }


def first_steps_of(spec) -> frozenset[str]:
    """The user tasks reachable from the process's start without passing another user task."""
    found, seen, todo = set(), set(), [spec.start]
    while todo:
        task_spec = todo.pop()
        if task_spec.name in seen:
            continue
        seen.add(task_spec.name)
        if isinstance(task_spec, UserTask):
            found.add(task_spec.bpmn_id)
        elif not isinstance(task_spec, BoundaryEvent):  # what follows one comes after its activity began
            todo.extend(task_spec.outputs)
    return frozenset(found)


def stored_spec(spec, subprocess_specs) -> dict:
    """The JSON form of a spec, stored once on its definition version."""
    subs = {key: spec_to_dict(sub) for key, sub in subprocess_specs.items()}
    return {"spec": spec_to_dict(spec), "subprocess_specs": subs}


def restore_stored_spec(stored: dict):
    subs = {key: spec_from_dict(sub) for key, sub in stored["subprocess_specs"].items()}
    return spec_from_dict(stored["spec"]), subs


def _connect_multi_instance_merges(loaded: LoadedSpec) -> None:
    """Multi-instance tasks hook their children's completion at creation, and hooks are not serialized:
    connect them once per spec so children created before a restore still merge into their parent."""
    for spec in (loaded.spec, *loaded.subprocess_specs.values()):
        for task_spec in spec.task_specs.values():
            if isinstance(task_spec, MultiInstanceTask):
                child = spec.task_specs[task_spec.task_spec]
                if not child.completed_event.is_connected(task_spec.merge_child):
                    child.completed_event.connect(task_spec.merge_child)


def _with_safe_engine(workflow: BpmnWorkflow) -> BpmnWorkflow:
    workflow.script_engine = SAFE_SCRIPT_ENGINE
    return workflow


def new_workflow(loaded: LoadedSpec, data: dict) -> BpmnWorkflow:
    """A fresh workflow with `data` seeded on the root task, run up to its first wait."""
    workflow = _with_safe_engine(BpmnWorkflow(loaded.spec, loaded.subprocess_specs))
    workflow.task_tree.data.update(data)
    workflow.do_engine_steps()
    return workflow


def load_workflow(loaded: LoadedSpec, state: dict) -> BpmnWorkflow:
    return _with_safe_engine(state_from_dict(state, loaded.spec, loaded.subprocess_specs))


def dump_workflow(workflow: BpmnWorkflow) -> dict:
    return state_to_dict(workflow)


def ready_user_tasks(workflow: BpmnWorkflow) -> list:
    """The READY user (manual) tasks of the workflow and its subprocesses, in the order they were
    created. A scan of SpiffWorkflow's task dictionaries: its tree iterator (`get_tasks`) walks the
    whole history with list copies and costs more with every loop an instance went through."""
    workflows = [workflow, *workflow.subprocesses.values()]
    return [
        task
        for flow in workflows
        for task in flow.tasks.values()
        if task.state == TaskState.READY and task.task_spec.manual
    ]


def find_task(workflow: BpmnWorkflow, spiff_task_id: str):
    """The task with this id, or None (unknown, or not a valid id)."""
    try:
        return workflow.get_task_from_id(UUID(spiff_task_id))
    except (TaskNotFoundException, ValueError):
        return None


def is_ready(task) -> bool:
    """SpiffWorkflow's Task.run() does not check this itself."""
    return task is not None and task.state == TaskState.READY


def multi_instance_items(task) -> tuple[str | None, str | None]:
    """(input item name, output item name) when the task is a multi-instance child, else (None, None)."""
    parent_spec = task.parent.task_spec if task.parent is not None else None
    if not isinstance(parent_spec, MultiInstanceTask):
        return None, None
    input_item = parent_spec.input_item.bpmn_id if parent_spec.input_item is not None else None
    output_item = parent_spec.output_item.bpmn_id if parent_spec.output_item is not None else None
    return input_item, output_item


def complete_user_task(workflow: BpmnWorkflow, task, data: dict) -> None:
    """Put the form data on the task and run it and every engine step after it.

    A multi-instance child's data becomes its output item (with its input item beside it), so the
    parent collects one record per item; any other step's data is merged into the task data.
    """
    input_item, output_item = multi_instance_items(task)
    if output_item:
        record = {input_item: task.data.get(input_item), **data} if input_item else dict(data)
        task.set_data(**{output_item: record})
    else:
        task.set_data(**data)
    task.run()
    workflow.do_engine_steps()
