"""Compiling a BPMN document and its forms into something our engine can run, or saying why not."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.mixins.service_task import ServiceTask
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.dmn.specs.business_rule_task_mixin import BusinessRuleTaskMixin
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from workflows.bpmn_checks import (
    BPMN_NS,
    NAMESPACES,
    NON_EXECUTABLE,
    SPIFF_NS,
    TIMER_WITHOUT_TIME,
    UNSUPPORTED_TASK,
    document_problems,
    local_name,
    runnable_processes,
    structure_problems,
)
from workflows.bpmn_xml import element_line, element_name, parse_bpmn_xml
from workflows.forms import DEFAULT_DECISION_FORM
from workflows.problems import DefinitionError, Problem
from workflows.sandbox import UnsafeCode, check_expression, check_script
from workflows.steps import StepConfig, check_step, step_config

__all__ = ["BPMN_NS", "SPIFF_NS", "UNSUPPORTED_TASK", "CompiledDefinition", "compile_definition"]

# (xpath within a runnable process, what the code is) of every place a diagram can hold code.
CODE_LOCATIONS = (
    (".//bpmn:conditionExpression", "condition"),
    (".//bpmn:conditionalEventDefinition/bpmn:condition", "condition"),
    (".//bpmn:completionCondition | .//bpmn:loopCardinality | .//bpmn:loopCondition", "expression"),
    (".//bpmn:timeDuration | .//bpmn:timeDate | .//bpmn:timeCycle", "timer"),
    (".//bpmn:scriptTask/bpmn:script", "script"),
    (".//spiffworkflow:preScript | .//spiffworkflow:postScript", "script"),
    (".//spiffworkflow:messagePayload | .//spiffworkflow:expression", "expression"),
)
# Code outside the processes: message correlation (evaluated on the messages' payloads).
DOCUMENT_CODE_LOCATIONS = (
    ("//bpmn:correlationPropertyRetrievalExpression/bpmn:formalExpression", "expression"),
    ("//bpmn:correlationPropertyRetrievalExpression/bpmn:messagePath", "expression"),
)
CODE_MESSAGES = {
    "condition": "the condition “%(code)s” cannot run here: %(reason)s",
    "expression": "the expression “%(code)s” cannot run here: %(reason)s",
    "timer": "the timer “%(code)s” cannot run here: %(reason)s",
    "script": "the script cannot run here: %(reason)s",
}
EMPTY_CODE = {
    "condition": 'the condition is empty: write one such as decision == "approve"',
    "expression": "the expression is empty: write one or remove the element that holds it",
    "timer": TIMER_WITHOUT_TIME,
}
SPIFF_CANNOT_READ = "SpiffWorkflow cannot read the diagram: %(detail)s"
DATA_ASSOCIATION = (
    "a data association points to a data object that is not in this process or sub-process: "
    "draw the data object inside it"
)
# SpiffWorkflow's messages that name internals (e.g. an lxml element's address), by their start.
SPIFF_MESSAGES = {
    "Cannot resolve dataInputAssociation": DATA_ASSOCIATION,
    "Cannot resolve dataOutputAssociation": DATA_ASSOCIATION,
}
RESERVED_IDS = {"Start", "End", "Root"}


@dataclass
class CompiledDefinition:
    key: str
    name: str
    spec: object
    subprocess_specs: dict
    steps: dict[str, StepConfig]
    forms: dict[str, dict]
    checksum: str
    problems: list[Problem] = field(default_factory=list)


def checksum_of(xml: str, forms: dict[str, dict]) -> str:
    """The identity of a version: the diagram and its forms together."""
    digest = hashlib.sha256(xml.encode("utf-8"))
    digest.update(json.dumps(forms, sort_keys=True, ensure_ascii=False).encode("utf-8"))
    return digest.hexdigest()


def compile_definition(xml: str, forms: dict[str, dict], source: str | None = None) -> CompiledDefinition:
    """Parse, validate and check a diagram; raise DefinitionError listing every problem.

    Our own checks (workflows/bpmn_checks.py, the code in the diagram, the forms) run first and list
    every blocking element; SpiffWorkflow's parser then adds the first problem it finds, unless it is
    about an element already listed. A document with no executable process has just that problem.
    """
    root = parse_bpmn_xml(xml)
    blocking = document_problems(root)
    if blocking:
        raise DefinitionError(blocking)
    runnable = runnable_processes(root)
    problems = (
        _check_reserved_ids(root)
        + structure_problems(root, runnable)
        + _check_code(root, runnable)
        + _check_forms(forms)
    )
    try:
        spec, subprocess_specs = _parse_specs(root, source)
    except DefinitionError as error:
        raise DefinitionError(_in_order(problems + _not_yet_listed(error.problems, problems))) from None
    steps, forms = _check_tasks(root, spec, subprocess_specs, dict(forms), problems)
    if problems:
        raise DefinitionError(_in_order(problems))
    name = spec.description or spec.name
    return CompiledDefinition(spec.name, name, spec, subprocess_specs, steps, forms, checksum_of(xml, forms))


def _not_yet_listed(found: list[Problem], listed: list[Problem]) -> list[Problem]:
    """SpiffWorkflow's problem, unless it is about an element already listed (it stops at the first
    problem, most likely one we listed), or names no element while others are listed."""
    ids = {p.element_id for p in listed}
    return [p for p in found if (p.element_id not in ids if p.element_id else not listed)]


def _in_order(problems: list[Problem]) -> list[Problem]:
    """Document order (by line; problems without one last), each once."""
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda p: (p.line is None, p.line or 0))


def _parse_specs(root: etree._Element, source: str | None):
    parser = SpiffBpmnParser(validator=VALIDATOR)
    try:
        parser.add_bpmn_xml(etree.ElementTree(root), filename=source)
        process_ids = parser.get_process_ids()
        if not process_ids:
            raise DefinitionError([Problem(NON_EXECUTABLE)])
        spec = parser.get_spec(process_ids[0])
        return spec, parser.get_subprocess_specs(process_ids[0])
    except ValidationException as error:
        line = error.line_number or element_line(root, error.id) or None
        message = str(error).split("\n")[0].strip()
        message = next((ours for start, ours in SPIFF_MESSAGES.items() if message.startswith(start)), message)
        where = _element(root, error.id)
        name = error.name or (where.get("name") if where is not None else None)
        kind = local_name(where) if where is not None else None
        raise DefinitionError([Problem(message, error.id or None, name, line, kind)]) from None
    except DefinitionError:
        raise
    except Exception as error:  # noqa: BLE001 - the parser raises bare errors for some diagrams
        detail = f"{type(error).__name__}: {error}"[:300]
        raise DefinitionError([Problem(SPIFF_CANNOT_READ % {"detail": detail})]) from None


def _element(root: etree._Element, element_id: str | None) -> etree._Element | None:
    if not element_id:
        return None
    found = root.xpath("//*[@id=$id]", id=element_id)
    return found[0] if found else None


def _check_code(root: etree._Element, runnable: list[etree._Element]) -> list[Problem]:
    """Every piece of code in the processes that can run, checked against the sandbox's whitelist."""
    nodes = [
        (node, what)
        for process in runnable
        for xpath, what in CODE_LOCATIONS
        for node in process.xpath(xpath, namespaces=NAMESPACES)
    ]
    nodes += [
        (node, what)
        for xpath, what in DOCUMENT_CODE_LOCATIONS
        for node in root.xpath(xpath, namespaces=NAMESPACES)
    ]
    problems = []
    for node, what in nodes:
        owner = node.getparent()
        while owner is not None and (owner.get("id") is None or _is_event_definition(owner)):
            owner = owner.getparent()  # name the event a timer belongs to, not its definition
        code = node.text or ""
        try:
            (check_script if what == "script" else check_expression)(code)
            continue
        except UnsafeCode as error:
            reason = str(error) if what == "script" else error.reason  # a line helps in scripts only
            message = CODE_MESSAGES[what] % {"code": _snippet(code), "reason": reason}
        if not code.strip():
            message = EMPTY_CODE[what]
        element_id = owner.get("id") if owner is not None else None
        kind = local_name(owner) if owner is not None else None
        problems.append(Problem(message, element_id, element_name(root, element_id), node.sourceline, kind))
    return problems


def _snippet(code: str, limit: int = 60) -> str:
    text = " ".join(code.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_event_definition(node: etree._Element) -> bool:
    return etree.QName(node).localname.endswith("EventDefinition")


def _check_reserved_ids(root: etree._Element) -> list[Problem]:
    """Ids that SpiffWorkflow uses for its own built-in task specs: a diagram using them cannot run."""
    return [
        Problem(
            f"the id '{node.get('id')}' is reserved by the engine: choose another id",
            node.get("id"),
            node.get("name"),
            node.sourceline,
            local_name(node),
        )
        for node in root.iter()
        if isinstance(node.tag, str) and node.get("id") in RESERVED_IDS
    ]


def _check_forms(forms: dict[str, dict]) -> list[Problem]:
    problems = []
    for key, schema in forms.items():
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as error:
            problems.append(Problem(f"form '{key}' is not a valid JSON Schema: {error.message}"))
    return problems


def _all_task_specs(spec, subprocess_specs):
    yield from spec.task_specs.values()
    for sub in subprocess_specs.values():
        yield from sub.task_specs.values()


def _check_tasks(root, spec, subprocess_specs, forms, problems):
    steps: dict[str, StepConfig] = {}
    for task_spec in _all_task_specs(spec, subprocess_specs):
        element_id = getattr(task_spec, "bpmn_id", None)
        node = _element(root, element_id)
        kind = local_name(node) if node is not None else None
        where = (element_id, element_name(root, element_id), element_line(root, element_id), kind)
        if isinstance(task_spec, ServiceTask | BusinessRuleTaskMixin):
            if not any(p.element_id == element_id for p in problems):  # bpmn_checks lists them already
                problems.append(Problem(UNSUPPORTED_TASK, *where))
        elif isinstance(task_spec, UserTask):
            props = (task_spec.extensions or {}).get("properties", {})
            if "form" not in props and element_id not in forms:
                forms[element_id] = DEFAULT_DECISION_FORM
            problems.extend(Problem(reason, *where) for reason in check_step(task_spec, set(forms)))
            steps[element_id] = step_config(task_spec)
    return steps, forms
