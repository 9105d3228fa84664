"""The BPMN sandbox: whitelisted expressions/scripts only, enforced on every call and end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from workflows import sandbox
from workflows.sandbox import (
    SAFE_FUNCTIONS,
    SAFE_SCRIPT_ENGINE,
    SafeEnvironment,
    SafeScriptEngine,
    UnsafeCode,
    check_expression,
    check_script,
)

REGISTRY = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
ENV = SafeEnvironment()

ALLOWED = [
    ("decision == 'return'", {"decision": "return"}, True),
    ("amount > 10 and not late", {"amount": 11, "late": False}, True),
    ("len(opinions) >= 2", {"opinions": [1]}, False),
    ('items[0]["agree"] is True', {"items": [{"agree": True}]}, True),
    ("x if y else z", {"x": 1, "y": False, "z": 2}, 2),
    ("min(a, b)", {"a": 3, "b": 2}, 2),
    ("sorted(xs, reverse=True)[:2]", {"xs": [1, 3, 2]}, [3, 2]),
    ("'PT10D'", {}, "PT10D"),
    ("n % 2 == 0 and 'a' * 3 == 'aaa'", {"n": 4}, True),
]

UNSAFE_EXPRESSIONS = [
    "__import__('os').system('touch ' + path)",
    "().__class__.__base__.__subclasses__()",
    "[c for c in ().__class__.__base__.__subclasses__()]",
    "open('/etc/passwd').read()",
    "eval('1')",
    "exec('x=1')",
    "getattr(x, '__class__')",
    "globals()",
    "lambda: 1",
    'f"{x.__class__}"',
    "10**10**10",
    "x.__dict__",
    "_secret",
    "len(*xs)",
    "dict(**kw)",
    "x[0]()",
    "b'bytes'",
    "'x' * 10001 + " + repr("y" * 10_001),
]

UNSAFE_SCRIPTS = [
    "import os",
    "from os import path",
    "import os\nos.system('touch ' + path)",
    "def f(): pass",
    "while True: pass",
    "for i in xs: pass",
    "del x",
    "with open('f') as f: pass",
    "try:\n    x = 1\nexcept Exception:\n    pass",
    "class A: pass",
    "global x",
    "x.y = 1",
    "a, b = 1, 2",
    "_hidden = 1",
    "len = 3",
    "x **= 2",
    "x = 1\n\nif x:\n    y = 2",
    "x = (",
]


def refuses(call, *args) -> UnsafeCode:
    with pytest.raises(UnsafeCode) as caught:
        call(*args)
    return caught.value


# --- the checks --------------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "data", "expected"), ALLOWED)
def test_allowed_expressions_pass_and_evaluate(source, data, expected):
    check_expression(source)
    assert ENV.evaluate(source, data) == expected


def test_allowed_script_updates_context():
    context = {"a": 1, "b": 2, "flags": {}}
    check_script('total = a + b\nflags["x"] = True')
    assert ENV.execute('total = a + b\nflags["x"] = True\ntotal *= 2\nsize = len', context) is True
    assert context == {"a": 1, "b": 2, "flags": {"x": True}, "total": 6}  # no callables copied back


@pytest.mark.parametrize("source", UNSAFE_EXPRESSIONS)
def test_unsafe_expressions_are_refused_everywhere(source, tmp_path):
    data = {"path": str(tmp_path / "pwned"), "x": 1, "xs": [1], "kw": {}}
    refuses(check_expression, source)
    refuses(ENV.evaluate, source, dict(data))
    refuses(check_script, f"y = {source}")
    refuses(ENV.execute, f"y = {source}", dict(data))
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("source", UNSAFE_SCRIPTS)
def test_unsafe_scripts_are_refused_everywhere(source, tmp_path):
    context = {"path": str(tmp_path / "pwned"), "x": 1, "xs": [1]}
    refuses(check_script, source)
    refuses(check_expression, source)
    refuses(ENV.execute, source, context)
    assert context == {"path": str(tmp_path / "pwned"), "x": 1, "xs": [1]}
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(
    ("call", "source", "message"),
    [
        (check_expression, "__import__('os')", "calling '__import__' is not allowed"),
        (check_expression, "__import__", "name '__import__' is not allowed"),
        (check_script, "import os", "import statements are not allowed"),
        (check_expression, "().__class__", "attribute access is not allowed"),
        (check_expression, "open('/etc/passwd')", "calling 'open' is not allowed"),
        (check_expression, "2 ** 8", "the ** operator is not allowed"),
        (check_script, "x = 1\nwhile True: pass", "loops are not allowed"),
    ],
)
def test_refusals_say_what_and_where(call, source, message):
    err = refuses(call, source)
    assert err.reason == message
    assert err.lineno == source.count("\n") + 1
    assert str(err) == f"{message} (line {err.lineno})"
    assert isinstance(err, ValueError)


def test_syntax_errors_become_unsafe_code_with_the_line():
    err = refuses(check_script, "x = 1\ny = (")
    assert err.reason.startswith("syntax error") and err.lineno == 2


@pytest.mark.parametrize(
    "source",
    [
        "'x' * 10000000000",
        "[0] * 100000 + [1]",
        "int('9' * 4000) * int('9' * 4000)",
        "round(1, -100000000)",
        "str([[0] * 100000] * 100000)",
        "sum([[1]], [])",
        "'%*d' % (100000000, 1)",
    ],
)
def test_resource_bombs_are_refused(source):
    refuses(ENV.evaluate, source, {})


def test_scripts_cannot_store_huge_data_and_fail_atomically():
    context = {"a": 1}
    refuses(ENV.execute, "row = [0] * 100000\ntable = [row] * 100000", context)
    with pytest.raises(NameError):
        ENV.execute("a = 2\nb = missing", context)
    assert context == {"a": 1}


def test_safe_functions_win_over_task_data_and_no_builtins_leak():
    assert ENV.evaluate("len(x)", {"x": [1, 2], "len": "shadowed"}) == 2
    assert ENV.evaluate("x", {"x": 1, "__builtins__": __builtins__}) == 1
    with pytest.raises(NameError):
        ENV.evaluate("print", {})
    assert set(SAFE_FUNCTIONS) == {
        "len",
        "str",
        "int",
        "float",
        "bool",
        "min",
        "max",
        "sum",
        "abs",
        "round",
        "any",
        "all",
        "sorted",
        "list",
        "dict",
        "set",
        "tuple",
    }


def test_checks_are_cached_by_source():
    before = sandbox._compile.cache_info().hits
    for _ in range(3):
        ENV.evaluate("amount > 10", {"amount": 11})
    assert sandbox._compile.cache_info().hits >= before + 2


def test_engine_validates_and_refuses_services():
    SAFE_SCRIPT_ENGINE.validate("decision == 'approve'")
    refuses(SAFE_SCRIPT_ENGINE.validate, "__import__('os')")
    refuses(SAFE_SCRIPT_ENGINE.call_service, None)
    assert isinstance(SAFE_SCRIPT_ENGINE, SafeScriptEngine)
    assert isinstance(SAFE_SCRIPT_ENGINE.environment, SafeEnvironment)


# --- end to end through SpiffWorkflow ----------------------------------------------------------

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Defs" targetNamespace="http://example.org/bpmn">
  <bpmn:process id="Proc" isExecutable="true">
    <bpmn:startEvent id="Ev_Begin"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Task_Review" name="Review">
      <bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="F1" sourceRef="Ev_Begin" targetRef="Task_Review"/>
    {middle}
  </bpmn:process>
</bpmn:definitions>"""

GATEWAY = """
    <bpmn:exclusiveGateway id="Gw" default="F_no"><bpmn:incoming>F2</bpmn:incoming>
      <bpmn:outgoing>F_yes</bpmn:outgoing><bpmn:outgoing>F_no</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="F2" sourceRef="Task_Review" targetRef="Gw"/>
    <bpmn:sequenceFlow id="F_yes" sourceRef="Gw" targetRef="Ev_Yes">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="F_no" sourceRef="Gw" targetRef="Ev_No"/>
    <bpmn:endEvent id="Ev_Yes"><bpmn:incoming>F_yes</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="Ev_No"><bpmn:incoming>F_no</bpmn:incoming></bpmn:endEvent>"""

SCRIPT = """
    <bpmn:scriptTask id="Task_Script" name="Script"><bpmn:incoming>F2</bpmn:incoming>
      <bpmn:outgoing>F3</bpmn:outgoing><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="F2" sourceRef="Task_Review" targetRef="Task_Script"/>
    <bpmn:sequenceFlow id="F3" sourceRef="Task_Script" targetRef="Ev_Done"/>
    <bpmn:endEvent id="Ev_Done"><bpmn:incoming>F3</bpmn:incoming></bpmn:endEvent>"""

EVIL_CONDITION = "__import__('os').system('touch ' + path)"
EVIL_SCRIPT = "import os\nos.system('touch ' + path)"
EVIL_DIAGRAMS = [
    pytest.param(GATEWAY.format(condition=EVIL_CONDITION), id="gateway-condition"),
    pytest.param(SCRIPT.format(script=EVIL_SCRIPT), id="script-task"),
]


def start(middle: str, engine: PythonScriptEngine | None) -> BpmnWorkflow:
    """Parse the diagram and run it up to the user task."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(BPMN.format(middle=middle).encode())
    wf = BpmnWorkflow(parser.get_spec("Proc"), parser.get_subprocess_specs("Proc"), script_engine=engine)
    wf.do_engine_steps()
    return wf


def finish(wf: BpmnWorkflow, **form) -> None:
    """Complete the waiting user task and let the engine run on."""
    [task] = wf.get_tasks(state=TaskState.READY, manual=True)
    task.set_data(**form)
    task.run()
    wf.do_engine_steps()


def assert_refused(wf: BpmnWorkflow, path: Path) -> None:
    with pytest.raises(WorkflowTaskException) as caught:
        finish(wf, path=str(path))
    assert caught.value.error_type == "UnsafeCode"
    assert isinstance(caught.value.__context__, UnsafeCode)
    assert "not allowed" in str(caught.value)
    assert not path.exists()
    assert not wf.is_completed()


@pytest.mark.parametrize("middle", EVIL_DIAGRAMS)
def test_the_default_engine_really_runs_the_payload(middle, tmp_path):
    """Control: without the sandbox these diagrams do create the file, so the tests below mean something."""
    wf = start(middle, PythonScriptEngine())
    finish(wf, path=str(tmp_path / "pwned"))
    assert (tmp_path / "pwned").exists()


@pytest.mark.parametrize("middle", EVIL_DIAGRAMS)
def test_sandboxed_workflow_refuses_the_payload(middle, tmp_path):
    assert_refused(start(middle, SAFE_SCRIPT_ENGINE), tmp_path / "pwned")


@pytest.mark.parametrize("middle", EVIL_DIAGRAMS)
def test_deserialized_workflow_needs_the_engine_set_again(middle, tmp_path):
    serializer = BpmnWorkflowSerializer(REGISTRY)
    stored = serializer.serialize_json(start(middle, SAFE_SCRIPT_ENGINE))
    wf = serializer.deserialize_json(stored)
    assert type(wf.script_engine) is PythonScriptEngine  # the unrestricted default comes back
    wf.script_engine = SAFE_SCRIPT_ENGINE
    assert_refused(wf, tmp_path / "pwned")


@pytest.mark.parametrize(("decision", "end"), [("approve", "Ev_Yes"), ("return", "Ev_No")])
def test_safe_diagram_runs_normally(decision, end):
    wf = start(GATEWAY.format(condition='decision == "approve"'), SAFE_SCRIPT_ENGINE)
    finish(wf, decision=decision)
    assert wf.is_completed()
    reached = {t.task_spec.bpmn_id for t in wf.get_tasks(state=TaskState.COMPLETED)}
    assert end in reached and ({"Ev_Yes", "Ev_No"} - {end}).isdisjoint(reached)


def test_safe_script_task_updates_task_data():
    wf = start(SCRIPT.format(script='total = a + b\nflags["done"] = True'), SAFE_SCRIPT_ENGINE)
    finish(wf, a=1, b=2, flags={})
    assert wf.is_completed()
    assert wf.last_task.data["total"] == 3 and wf.last_task.data["flags"] == {"done": True}
