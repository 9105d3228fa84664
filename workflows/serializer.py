"""Serializing workflows: the spec once per definition version, only the state per instance.

SpiffWorkflow's own serializer writes the whole spec into every workflow; here the top-level
converter leaves the spec out and is handed the (cached) spec when the state is restored.
"""

from __future__ import annotations

from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SPIFF_SERIALIZER_VERSION
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

# Stored beside every state; bump the suffix when our own layout of the state changes.
SERIALIZER_VERSION = f"{SPIFF_SERIALIZER_VERSION}+state-1"


class _StateOnlyConverter(BpmnWorkflowConverter):
    """The BPMN workflow converter without the spec (it lives on the definition version)."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def restore_state(self, dct: dict, spec, subprocess_specs: dict) -> BpmnWorkflow:
        dct = dict(dct)
        workflow = BpmnWorkflow(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dict(dct["subprocesses"]), workflow)
        workflow.bpmn_events = self.registry.restore(dct.get("bpmn_events", []))
        return workflow


REGISTRY = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
_STATE_CONVERTER = _StateOnlyConverter(BpmnWorkflow, REGISTRY)
# Keep a full serializer too (specs, and whole workflows for tests and tools).
FULL_SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))


def spec_to_dict(spec) -> dict:
    return REGISTRY.convert(spec)


def spec_from_dict(dct: dict):
    return REGISTRY.restore(dct)


def state_to_dict(workflow: BpmnWorkflow) -> dict:
    """The instance's state: tasks, data, events; JSON-ready, without the spec."""
    return _STATE_CONVERTER.to_dict(workflow)


def state_from_dict(state: dict, spec, subprocess_specs: dict) -> BpmnWorkflow:
    """A workflow from a stored state and its definition's spec. The caller sets the script engine."""
    return _STATE_CONVERTER.restore_state(state, spec, subprocess_specs)
