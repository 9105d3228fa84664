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

from workflows.bpmn_xml import element_line, element_name, parse_bpmn_xml
from workflows.forms import DEFAULT_DECISION_FORM
from workflows.problems import DefinitionError, Problem
from workflows.sandbox import UnsafeCode, check_expression, check_script
from workflows.steps import StepConfig, check_step, step_config

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
# (xpath, is_script) of every place a diagram can hold code.
CODE_LOCATIONS = (
    ("//bpmn:conditionExpression", False),
    ("//bpmn:completionCondition", False),
    ("//bpmn:loopCardinality", False),
    ("//bpmn:timeDuration | //bpmn:timeDate | //bpmn:timeCycle", False),
    ("//bpmn:scriptTask/bpmn:script", True),
    ("//spiffworkflow:preScript | //spiffworkflow:postScript", True),
)
UNSUPPORTED_TASK = (
    "no implementation here: this system runs user, manual, script-free and call-activity tasks"
)
RESERVED_IDS = {"Start", "End", "Root"}
NAMESPACES = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}


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
    """Parse, validate and check a diagram; raise DefinitionError listing every problem."""
    root = parse_bpmn_xml(xml)
    problems = _check_reserved_ids(root) + _check_code(root) + _check_forms(forms)
    try:
        spec, subprocess_specs = _parse_specs(root, source)
    except DefinitionError as error:
        raise DefinitionError(problems + error.problems) from None
    steps, forms = _check_tasks(root, spec, subprocess_specs, dict(forms), problems)
    if problems:
        raise DefinitionError(problems)
    name = spec.description or spec.name
    return CompiledDefinition(spec.name, name, spec, subprocess_specs, steps, forms, checksum_of(xml, forms))


def _parse_specs(root: etree._Element, source: str | None):
    parser = SpiffBpmnParser(validator=VALIDATOR)
    try:
        parser.add_bpmn_xml(etree.ElementTree(root), filename=source)
        process_ids = parser.get_process_ids()
        if not process_ids:
            raise DefinitionError(
                [Problem('the diagram is descriptive (isExecutable="false"): it cannot run')]
            )
        spec = parser.get_spec(process_ids[0])
        return spec, parser.get_subprocess_specs(process_ids[0])
    except ValidationException as error:
        line = error.line_number or element_line(root, error.id) or None
        message = str(error).split("\n")[0]
        raise DefinitionError([Problem(message, error.id or None, error.name or None, line)]) from None


def _check_code(root: etree._Element) -> list[Problem]:
    problems = []
    for xpath, is_script in CODE_LOCATIONS:
        for node in root.xpath(xpath, namespaces=NAMESPACES):
            owner = node.getparent()
            while owner is not None and (owner.get("id") is None or _is_event_definition(owner)):
                owner = owner.getparent()  # name the event a timer belongs to, not its definition
            try:
                (check_script if is_script else check_expression)(node.text or "")
            except UnsafeCode as error:
                element_id = owner.get("id") if owner is not None else None
                problems.append(
                    Problem(str(error), element_id, element_name(root, element_id), node.sourceline)
                )
    return problems


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
        where = (element_id, element_name(root, element_id), element_line(root, element_id))
        if isinstance(task_spec, ServiceTask | BusinessRuleTaskMixin):
            problems.append(Problem(UNSUPPORTED_TASK, *where))
        elif isinstance(task_spec, UserTask):
            props = (task_spec.extensions or {}).get("properties", {})
            if "form" not in props and element_id not in forms:
                forms[element_id] = DEFAULT_DECISION_FORM
            problems.extend(Problem(reason, *where) for reason in check_step(task_spec, set(forms)))
            steps[element_id] = step_config(task_spec)
    return steps, forms
