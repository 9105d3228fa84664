"""Diagrams carrying code that tries to escape: refused at deploy, and harmless even if forced in.

Each payload would create a marker file (a positive control below proves it does, with
SpiffWorkflow's default engine). Through our deploy it is refused with the element id; forced into
the database past deploy, started and advanced through workflows.engine, it fails with an error,
creates nothing and writes nothing, also when the workflow comes back from its stored state.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from app.extensions import db
from app.models import ProcessDefinition
from app.services.clock import utcnow
from tests.engine_helpers import dump_tables, form_of, instance_of, open_item, sample_data, task, user
from workflows.deploy import deploy
from workflows.engine import advance, start_process
from workflows.errors import WorkflowError
from workflows.forms import DEFAULT_DECISION_FORM
from workflows.problems import DefinitionError
from workflows.runtime import (
    complete_user_task,
    load_workflow,
    loaded_spec,
    ready_user_tasks,
    stored_spec,
)
from workflows.sandbox import SAFE_SCRIPT_ENGINE

IMPORT_CALL = "__import__('os').system('touch {marker}')"
SUBCLASSES = (
    "[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == '_wrap_close'][0]"
    ".__init__.__globals__['system']('touch {marker}')"
)
# variant -> (where the code sits, the code, the element id a problem must name)
PAYLOADS = {
    "condition-import": ("condition", IMPORT_CALL + " == 0", "flow_evil"),
    "condition-subclasses": ("condition", SUBCLASSES + " == 0", "flow_evil"),
    "script-import-statement": ("script", "import os\nos.system('touch {marker}')", "script_evil"),
    "script-import-call": ("script", "result = " + IMPORT_CALL, "script_evil"),
    "script-subclasses": ("script", "result = " + SUBCLASSES, "script_evil"),
}
AT_START = {"script-at-start": ("script", "import os\nos.system('touch {marker}')", "script_evil")}

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs" targetNamespace="http://x">
  <bpmn:process id="{key}" name="Quy trình thử" isExecutable="true">
    <bpmn:startEvent id="start_event"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
"""
STEP = """    <bpmn:userTask id="step_one" name="Bước một">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="unit" value="lead" />
        <spiffworkflow:property name="roles" value="specialist" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>{incoming}</bpmn:incoming><bpmn:outgoing>{outgoing}</bpmn:outgoing>
    </bpmn:userTask>
"""
GATEWAY = """    <bpmn:exclusiveGateway id="gate" default="flow_safe">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>flow_evil</bpmn:outgoing>
      <bpmn:outgoing>flow_safe</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="f2" sourceRef="step_one" targetRef="gate" />
    <bpmn:sequenceFlow id="flow_evil" sourceRef="gate" targetRef="end_a">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{code}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="flow_safe" sourceRef="gate" targetRef="end_b" />
    <bpmn:endEvent id="end_a"><bpmn:incoming>flow_evil</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end_b"><bpmn:incoming>flow_safe</bpmn:incoming></bpmn:endEvent>
"""
SCRIPT = """    <bpmn:scriptTask id="script_evil" name="Kịch bản">
      <bpmn:incoming>{incoming}</bpmn:incoming><bpmn:outgoing>{outgoing}</bpmn:outgoing>
      <bpmn:script>{code}</bpmn:script>
    </bpmn:scriptTask>
"""
TAIL = """    <bpmn:endEvent id="end_event"><bpmn:incoming>{incoming}</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def _escape(code: str) -> str:
    return code.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def diagram(key: str, where: str, code: str, at_start: bool = False) -> str:
    """start -> step_one -> (gateway with the code | script task with the code) -> end."""
    code = _escape(code)
    flow = '    <bpmn:sequenceFlow id="{}" sourceRef="{}" targetRef="{}" />\n'
    if where == "condition":
        body = STEP.format(incoming="f1", outgoing="f2") + flow.format("f1", "start_event", "step_one")
        return (
            HEAD.format(key=key)
            + body
            + GATEWAY.format(code=code)
            + "  </bpmn:process>\n</bpmn:definitions>\n"
        )
    if at_start:  # start -> script -> step_one -> end
        order = [
            ("f1", "start_event", "script_evil"),
            ("f2", "script_evil", "step_one"),
            ("f3", "step_one", "end_event"),
        ]
        body = SCRIPT.format(incoming="f1", outgoing="f2", code=code) + STEP.format(
            incoming="f2", outgoing="f3"
        )
    else:  # start -> step_one -> script -> end
        order = [
            ("f1", "start_event", "step_one"),
            ("f2", "step_one", "script_evil"),
            ("f3", "script_evil", "end_event"),
        ]
        body = STEP.format(incoming="f1", outgoing="f2") + SCRIPT.format(
            incoming="f2", outgoing="f3", code=code
        )
    flows = "".join(flow.format(*f) for f in order)
    return HEAD.format(key=key) + body + flows + TAIL.format(incoming="f3")


def _parse_unrestricted(xml: str, key: str):
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(xml.encode("utf-8"))
    return parser.get_spec(key), parser.get_subprocess_specs(key)


def force_definition(xml: str, key: str) -> ProcessDefinition:
    """Insert a definition row directly, skipping deploy's checks (as a compromised admin tool might)."""
    spec, subprocess_specs = _parse_unrestricted(xml, key)
    definition = ProcessDefinition(
        key=key,
        version=1,
        name="Quy trình thử",
        bpmn_xml=xml,
        checksum=hashlib.sha256(xml.encode("utf-8")).hexdigest(),
        forms={"step_one": DEFAULT_DECISION_FORM},
        spec=stored_spec(spec, subprocess_specs),
        source="forced.bpmn",
        active=True,
        deployed_at=utcnow(),
    )
    db.session.add(definition)
    db.session.commit()
    return definition


def _case(variant: str, tmp_path: Path, cases=PAYLOADS):
    where, code, element_id = cases[variant]
    marker = tmp_path / f"pwned-{variant}"
    key = "evil_" + variant.replace("-", "_")
    return (
        key,
        diagram(key, where, code.format(marker=marker), at_start=cases is AT_START),
        element_id,
        marker,
    )


@pytest.mark.parametrize("variant", [*PAYLOADS, *AT_START])
def test_payload_is_live_with_the_default_engine(tmp_path, variant):
    """Positive control: SpiffWorkflow's own engine runs the payload (so the tests below mean something)."""
    cases = AT_START if variant in AT_START else PAYLOADS
    key, xml, _, marker = _case(variant, tmp_path, cases)
    workflow = BpmnWorkflow(*_parse_unrestricted(xml, key))
    workflow.do_engine_steps()
    for ready in ready_user_tasks(workflow):
        ready.set_data(decision="approve")
        ready.run()
        workflow.do_engine_steps()
    assert marker.exists()


@pytest.mark.parametrize("variant", [*PAYLOADS, *AT_START])
def test_refused_at_deploy_naming_the_element(app, tmp_path, variant):
    cases = AT_START if variant in AT_START else PAYLOADS
    key, xml, element_id, marker = _case(variant, tmp_path, cases)
    before = dump_tables()
    with pytest.raises(DefinitionError) as error:
        deploy(xml, {"step_one": DEFAULT_DECISION_FORM}, source="evil.bpmn")
    problems = error.value.problems
    assert [p.element_id for p in problems] == [element_id], problems
    assert problems[0].line is not None
    assert "not allowed" in problems[0].message
    db.session.rollback()
    assert dump_tables() == before
    assert not marker.exists()


@pytest.mark.parametrize("variant", PAYLOADS)
def test_forced_definition_fails_harmlessly_when_advanced(app, tmp_path, variant):
    key, xml, _, marker = _case(variant, tmp_path)
    force_definition(xml, key)
    t1a, cv = task("1.a"), user("cntt.cv")
    start_process(t1a, cv, process_key=key)
    item = open_item(t1a, "step_one")
    # with the "5 rõ" the first step asks for (so the data is valid and the payload is reached); the
    # task's update they bring is rolled back with the failed step
    data = sample_data(form_of(item), decision="approve")
    assert {"assignee", "expected_result"} <= data.keys()
    before = dump_tables()
    with pytest.raises(Exception) as error:
        advance(item, cv, data)
    assert not marker.exists()
    assert dump_tables() == before
    # The engine must report this as one of its own errors (a 4xx), not a raw SpiffWorkflow exception.
    assert isinstance(error.value, WorkflowError), f"raw {type(error.value).__module__}.{error.value!r}"
    assert error.value.status < 500
    assert "not allowed" in str(error.value.details) or "not allowed" in error.value.message


@pytest.mark.parametrize("variant", PAYLOADS)
def test_stored_state_is_restored_with_the_restricted_engine(app, tmp_path, variant):
    key, xml, _, marker = _case(variant, tmp_path)
    definition = force_definition(xml, key)
    t1a = task("1.a")
    start_process(t1a, user("cntt.cv"), process_key=key)
    loaded = loaded_spec(definition)
    workflow = load_workflow(loaded, instance_of(t1a).state)
    assert workflow.script_engine is SAFE_SCRIPT_ENGINE
    [ready] = ready_user_tasks(workflow)
    with pytest.raises(Exception, match="not allowed"):
        complete_user_task(workflow, ready, {"decision": "approve"})
    assert not marker.exists()


def test_forced_definition_failing_at_start_writes_nothing(app, tmp_path):
    key, xml, _, marker = _case("script-at-start", tmp_path, AT_START)
    force_definition(xml, key)
    before = dump_tables()
    with pytest.raises(Exception) as error:
        start_process(task("1.a"), user("cntt.cv"), process_key=key)
    assert not marker.exists()
    assert dump_tables() == before
    assert isinstance(error.value, WorkflowError), f"raw {type(error.value).__module__}.{error.value!r}"
    assert error.value.status < 500
