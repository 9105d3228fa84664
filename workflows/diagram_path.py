"""Where a process instance stands on its diagram: the elements it completed, the step(s) it waits in,
and the sequence flows it took, as BPMN element ids a diagram viewer can highlight.

Read from the instance's SpiffWorkflow task tree: in it each task's parent is the element the process
came from, so a flow was taken where a completed element is followed by a reached one. SpiffWorkflow's
specs do not keep sequence flow ids, so they are read from the definition's BPMN XML by
(sourceRef, targetRef). Reads only; never changes the workflow.
"""

from __future__ import annotations

import threading

from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.util.task import TaskState

from workflows.bpmn_xml import parse_bpmn_xml
from workflows.engine import DEFAULT_PROCESS, latest_definition
from workflows.problems import DefinitionError
from workflows.runtime import load_workflow, loaded_spec
from workflows.worklist import current_instance

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
REACHED = TaskState.COMPLETED | TaskState.STARTED | TaskState.READY | TaskState.WAITING
CURRENT = TaskState.STARTED | TaskState.READY | TaskState.WAITING
# Waiting in a gateway (a join) or on a boundary event is not a step anyone is at.
NOT_A_STEP = (BoundaryEvent, ExclusiveGateway, InclusiveGateway, ParallelGateway)

_flows_cache: dict[tuple[int, str], dict[tuple[str, str], list[str]]] = {}
_flows_lock = threading.Lock()


def task_diagram(task) -> dict | None:
    """What a viewer draws for the task: {"xml", "status", "completed", "current", "flows"} of its most
    recent process instance; before any, its process's latest diagram with nothing reached (status
    None); None when the task has no process at all."""
    instance = current_instance(task)
    if instance is not None:
        state = diagram_state(instance)
        return {"xml": instance.definition.bpmn_xml, "status": instance.status, **state}
    definition = latest_definition(task.task_type or DEFAULT_PROCESS)
    if definition is None:
        return None
    return {"xml": definition.bpmn_xml, "status": None, "completed": [], "current": [], "flows": []}


def diagram_state(instance) -> dict[str, list[str]]:
    """{"completed": [ids], "current": [ids], "flows": [ids]} in the order the process reached them.

    An element the process completed and now waits in again (a step returned for rework) is current.
    """
    loaded = loaded_spec(instance.definition)
    workflow = load_workflow(loaded, instance.state)
    flows = sequence_flows(instance.definition)
    completed: dict[str, None] = {}
    current: dict[str, None] = {}
    taken: dict[str, None] = {}
    for task in workflow.get_tasks(state=REACHED):
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if bpmn_id is None:
            continue
        if task.state == TaskState.COMPLETED:
            completed[bpmn_id] = None
        elif not isinstance(task.task_spec, NOT_A_STEP):
            current[bpmn_id] = None
        source = _previous_element(task)
        if source is not None and source.state == TaskState.COMPLETED:
            for flow_id in flows.get((source.task_spec.bpmn_id, bpmn_id), ()):
                taken[flow_id] = None
    return {
        "completed": [bpmn_id for bpmn_id in completed if bpmn_id not in current],
        "current": list(current),
        "flows": list(taken),
    }


def _previous_element(task):
    """The nearest ancestor that is a BPMN element (skipping SpiffWorkflow's own helper tasks)."""
    parent = task.parent
    while parent is not None and getattr(parent.task_spec, "bpmn_id", None) is None:
        parent = parent.parent
    return parent


def sequence_flows(definition) -> dict[tuple[str, str], list[str]]:
    """(sourceRef, targetRef) -> the ids of the sequence flows between them, read once per version."""
    key = (definition.id, definition.checksum)
    cached = _flows_cache.get(key)
    if cached is None:
        cached = _parse_flows(definition.bpmn_xml)
        with _flows_lock:
            _flows_cache[key] = cached
    return cached


def _parse_flows(xml: str) -> dict[tuple[str, str], list[str]]:
    """The stored document read like an upload (no DTD, no entities); one that is refused (only a row
    forced into the database past the deploy checks can be) has no flows to mark."""
    try:
        root = parse_bpmn_xml(xml)
    except DefinitionError:
        return {}
    flows: dict[tuple[str, str], list[str]] = {}
    for flow in root.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        source, target, flow_id = flow.get("sourceRef"), flow.get("targetRef"), flow.get("id")
        if source and target and flow_id:
            flows.setdefault((source, target), []).append(flow_id)
    return flows
