"""What our engine cannot run in a BPMN document, found by reading the XML itself.

SpiffWorkflow's parser stops at the first problem it meets; these checks run before it and list every
blocking element at once, each with its id, name, line and BPMN type, so a modeller fixes a diagram
drawn elsewhere in one pass. Only the processes that can run are checked: the executable ones and the
processes their call activities call. A document without any executable process is "non-executable"
(a descriptive diagram): that is its one problem, named on each process.

The English messages here are msgids: workflows/problem_text.py translates them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from lxml import etree

from workflows.problems import Problem

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NAMESPACES = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}

NON_EXECUTABLE = (
    'the process is non-executable (isExecutable="false"): it describes the work but cannot run here; '
    "mark it executable to deploy it"
)
NOT_BPMN = "this is not a BPMN 2.0 document (its root element is <%(tag)s>)"
NO_PROCESS = "the document has no process"
UNSUPPORTED_TASK = (
    "no implementation here: this system runs user tasks, call activities, sub-processes and script "
    "tasks with safe scripts"
)
SERVICE_WITHOUT_OPERATOR = (
    UNSUPPORTED_TASK + " (a service task must have an operator, and there is none here)"
)
BUSINESS_RULE = UNSUPPORTED_TASK + " (a business rule task needs a DMN decision table, which is not run here)"
NONE_TASK = (
    "a task without a type does nothing here: make it a user task (someone does it in the worklist) "
    "or remove it"
)
MANUAL_TASK = "manual tasks do not run here: make it a user task (someone confirms it in the worklist)"
AD_HOC = "ad-hoc sub-processes do not run here: draw the order of the steps with sequence flows"
CATCH_MESSAGE = (
    "waits for a message or signal, which this system never sends: use a user task or a timer instead"
)
THROW_MESSAGE = (
    "sends a message or signal, which nothing here receives: remove its message or signal definition"
)
CATCH_WITHOUT_TRIGGER = "a catch event without a trigger cannot run: give it a timer or remove it"
TIMER_WITHOUT_TIME = 'the timer has no time: set a duration such as "P7D" (with the quotes) or a date'
SUBPROCESS_START = "a sub-process needs exactly one start event (it has %(count)s)"
SUBPROCESS_END = "a sub-process needs an end event"
MULTI_INSTANCE_INPUT = "a multi-instance activity needs a cardinality or a collection to loop over"
LOOP_WITHOUT_LIMIT = "a loop needs a loop condition or a maximum number of loops"
MULTIPLE_OUTGOING = "%(count)s flows leave this element without a gateway: add a gateway to split the flow"
FLOW_WITHOUT_CONDITION = (
    "this flow leaves a gateway without a condition and is not its default flow: add a condition "
    "or make it the default"
)
DATA_STORE = "data stores do not exist here: keep the data in the fields of the steps' forms"
NEVER_RUNS = (
    "only the first executable process of a document runs: mark this one non-executable or call it "
    "from a call activity"
)

_UNSUPPORTED_TASKS = {"serviceTask", "businessRuleTask", "sendTask", "receiveTask"}
_CATCH_EVENTS = {"startEvent", "intermediateCatchEvent", "boundaryEvent"}
_EVENTS = _CATCH_EVENTS | {"endEvent", "intermediateThrowEvent"}
_SUB_PROCESSES = {"subProcess", "transaction"}
_SPLITS = {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway"}
_CONDITIONAL_SPLITS = {"exclusiveGateway", "inclusiveGateway"}
_MULTI_OUT_ALLOWED = _SPLITS | {"startEvent"}


def local_name(node: etree._Element) -> str | None:
    """The tag without its namespace when the element is BPMN; None for anything else."""
    if not isinstance(node.tag, str):
        return None
    qname = etree.QName(node)
    return qname.localname if qname.namespace == BPMN_NS else None


def problem_at(node: etree._Element, message: str) -> Problem:
    """A problem named after the element: id, name, line and BPMN type."""
    return Problem(message, node.get("id"), node.get("name"), node.sourceline, local_name(node))


def is_executable(process: etree._Element) -> bool:
    """SpiffWorkflow's own reading: executable unless isExecutable is anything but "true"."""
    return process.get("isExecutable", "true") == "true"


def _processes(root: etree._Element) -> list[etree._Element]:
    return root.findall(f"{{{BPMN_NS}}}process")


def runnable_processes(root: etree._Element) -> list[etree._Element]:
    """The executable processes, then every process their call activities call (in this document)."""
    by_id = {p.get("id"): p for p in _processes(root)}
    found = [p for p in by_id.values() if is_executable(p)]
    seen = {p.get("id") for p in found}
    index = 0
    while index < len(found):
        for call in found[index].iter(f"{{{BPMN_NS}}}callActivity"):
            called = by_id.get(call.get("calledElement"))
            if called is not None and called.get("id") not in seen:
                seen.add(called.get("id"))
                found.append(called)
        index += 1
    return found


def document_problems(root: etree._Element) -> list[Problem]:
    """Why nothing in the document can run at all: not BPMN, no process, or only descriptive ones."""
    if local_name(root) != "definitions":
        tag = etree.QName(root).localname if isinstance(root.tag, str) else "?"
        return [Problem(NOT_BPMN % {"tag": tag}, line=root.sourceline)]
    processes = _processes(root)
    if not processes:
        return [Problem(NO_PROCESS, line=root.sourceline)]
    if not any(is_executable(p) for p in processes):
        return [problem_at(p, NON_EXECUTABLE) for p in processes]
    return []


def structure_problems(root: etree._Element, runnable: list[etree._Element]) -> list[Problem]:
    """Every element of the runnable processes that our engine cannot run, and the data stores."""
    problems = [problem_at(store, DATA_STORE) for store in root.iter(f"{{{BPMN_NS}}}dataStore")]
    executable = [p for p in runnable if is_executable(p)]
    called = {p.get("id") for p in runnable} - {p.get("id") for p in executable}
    problems += [problem_at(p, NEVER_RUNS) for p in executable[1:] if p.get("id") not in called]
    for process in runnable:
        for node in _flow_elements(process):
            problems.extend(_element_problems(node))
        problems.extend(_flow_problems(process))
    return problems


def _flow_elements(process: etree._Element) -> Iterator[etree._Element]:
    for node in process.iter():
        if local_name(node) is not None:
            yield node


def _element_problems(node: etree._Element) -> list[Problem]:
    kind = local_name(node)
    if kind in _UNSUPPORTED_TASKS:
        return [problem_at(node, _unsupported_task_message(node, kind))]
    if kind == "task":
        return [problem_at(node, NONE_TASK)]
    if kind == "manualTask":
        return [problem_at(node, MANUAL_TASK)]
    if kind == "adHocSubProcess":
        return [problem_at(node, AD_HOC)]
    if kind in _EVENTS:
        return _event_problems(node, kind)
    problems = []
    if kind in _SUB_PROCESSES:
        starts = node.findall(f"{{{BPMN_NS}}}startEvent")
        if len(starts) != 1:
            problems.append(problem_at(node, SUBPROCESS_START % {"count": len(starts)}))
        if node.find(f"{{{BPMN_NS}}}endEvent") is None:
            problems.append(problem_at(node, SUBPROCESS_END))
    multi = node.find(f"{{{BPMN_NS}}}multiInstanceLoopCharacteristics")
    if multi is not None and not _has_any(multi, "loopCardinality", "loopDataInputRef"):
        problems.append(problem_at(node, MULTI_INSTANCE_INPUT))
    loop = node.find(f"{{{BPMN_NS}}}standardLoopCharacteristics")
    if loop is not None and loop.get("loopMaximum") is None and not _has_any(loop, "loopCondition"):
        problems.append(problem_at(node, LOOP_WITHOUT_LIMIT))
    return problems


def _unsupported_task_message(node: etree._Element, kind: str) -> str:
    if kind == "businessRuleTask":
        return BUSINESS_RULE
    if kind == "serviceTask" and not node.xpath(
        ".//spiffworkflow:serviceTaskOperator", namespaces=NAMESPACES
    ):
        return SERVICE_WITHOUT_OPERATOR
    return UNSUPPORTED_TASK


def _has_any(node: etree._Element, *children: str) -> bool:
    return any(
        (child := node.find(f"{{{BPMN_NS}}}{name}")) is not None and (child.text or "").strip()
        for name in children
    )


def _event_problems(node: etree._Element, kind: str) -> list[Problem]:
    definitions = {local_name(child): child for child in node if local_name(child)}
    messaging = {"messageEventDefinition", "signalEventDefinition"} & definitions.keys()
    if messaging:
        return [problem_at(node, CATCH_MESSAGE if kind in _CATCH_EVENTS else THROW_MESSAGE)]
    timer = definitions.get("timerEventDefinition")
    if timer is not None and not any(
        local_name(child) in ("timeDate", "timeDuration", "timeCycle") for child in timer
    ):
        return [problem_at(node, TIMER_WITHOUT_TIME)]
    triggers = [name for name in definitions if name.endswith("EventDefinition")]
    if kind in ("intermediateCatchEvent", "boundaryEvent") and not triggers:
        return [problem_at(node, CATCH_WITHOUT_TRIGGER)]
    return []


def _flow_problems(process: etree._Element) -> list[Problem]:
    """Several flows leaving an activity (SpiffWorkflow needs a gateway), gateway flows without condition."""
    nodes = {n.get("id"): n for n in _flow_elements(process) if n.get("id")}
    flows = [n for n in nodes.values() if local_name(n) == "sequenceFlow"]
    outgoing = Counter(flow.get("sourceRef") for flow in flows)
    problems = []
    for source_id, count in outgoing.items():
        source = nodes.get(source_id)
        if source is not None and count > 1 and local_name(source) not in _MULTI_OUT_ALLOWED:
            problems.append(problem_at(source, MULTIPLE_OUTGOING % {"count": count}))
    for flow in flows:
        source = nodes.get(flow.get("sourceRef"))
        if source is None or local_name(source) not in _CONDITIONAL_SPLITS or outgoing[source.get("id")] < 2:
            continue
        condition = flow.find(f"{{{BPMN_NS}}}conditionExpression")
        has_condition = condition is not None and (condition.text or "").strip()
        if source.get("default") != flow.get("id") and not has_condition:
            problems.append(problem_at(flow, FLOW_WITHOUT_CONDITION))
    return problems
