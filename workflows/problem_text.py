"""Problems of a BPMN document as people read them: in the user's language, naming the element.

`Problem.message` stays English (the engine's, SpiffWorkflow's or the sandbox's words: logs and tests
read it). At render time `describe(problem)` finds the English template the message was made from,
translates it through the catalogue (app/translations: English msgids, Vietnamese msgstrs) and says
which element it is about: "Service task 'Check credit' (id Activity_1): no implementation here: ...".
A message no template knows keeps its English words after a translated lead-in, so nothing is hidden.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from flask_babel import gettext

from workflows.problems import Problem


def N_(text: str) -> str:  # noqa: N802 - the conventional marker pybabel extracts (msgid, translated later)
    return text


# The English templates of every message a deploy can report (workflows/bpmn_checks.py, definitions.py,
# bpmn_xml.py, steps.py check_step, sandbox.py's static checks, definition_upload.py), most specific first.
# `%(reason)s` is itself a message, translated in turn; other values are shown as they are.
TEMPLATES: tuple[str, ...] = (
    N_("the document is larger than %(size)s MB"),
    N_("DTDs and entity declarations are not allowed"),
    N_("malformed XML: %(detail)s"),
    N_("the document is not UTF-8 text: save it as UTF-8"),
    N_("the document is empty"),
    N_("the process id '%(key)s' is longer than %(limit)s characters"),
    N_("this is not a BPMN 2.0 document (its root element is <%(tag)s>)"),
    N_("the document has no process"),
    N_(
        'the process is non-executable (isExecutable="false"): it describes the work but cannot run '
        "here; mark it executable to deploy it"
    ),
    N_(
        "no implementation here: this system runs user tasks, call activities, sub-processes and "
        "script tasks with safe scripts (a service task must have an operator, and there is none here)"
    ),
    N_(
        "no implementation here: this system runs user tasks, call activities, sub-processes and "
        "script tasks with safe scripts (a business rule task needs a DMN decision table, which is not "
        "run here)"
    ),
    N_(
        "no implementation here: this system runs user tasks, call activities, sub-processes and "
        "script tasks with safe scripts"
    ),
    N_(
        "a task without a type does nothing here: make it a user task (someone does it in the "
        "worklist) or remove it"
    ),
    N_("manual tasks do not run here: make it a user task (someone confirms it in the worklist)"),
    N_("ad-hoc sub-processes do not run here: draw the order of the steps with sequence flows"),
    N_("waits for a message or signal, which this system never sends: use a user task or a timer instead"),
    N_("sends a message or signal, which nothing here receives: remove its message or signal definition"),
    N_("a catch event without a trigger cannot run: give it a timer or remove it"),
    N_('the timer has no time: set a duration such as "P7D" (with the quotes) or a date'),
    N_("a sub-process needs exactly one start event (it has %(count)s)"),
    N_("a sub-process needs an end event"),
    N_("a multi-instance activity needs a cardinality or a collection to loop over"),
    N_("a loop needs a loop condition or a maximum number of loops"),
    N_("%(count)s flows leave this element without a gateway: add a gateway to split the flow"),
    N_(
        "this flow leaves a gateway without a condition and is not its default flow: add a condition "
        "or make it the default"
    ),
    N_("data stores do not exist here: keep the data in the fields of the steps' forms"),
    N_(
        "only the first executable process of a document runs: mark this one non-executable or call it "
        "from a call activity"
    ),
    N_(
        "a data association points to a data object that is not in this process or sub-process: draw "
        "the data object inside it"
    ),
    N_("SpiffWorkflow cannot read the diagram: %(detail)s"),
    N_("the id '%(id)s' is reserved by the engine: choose another id"),
    N_("form '%(form)s' is not a valid JSON Schema: %(detail)s"),
    N_('the condition is empty: write one such as decision == "approve"'),
    N_("the expression is empty: write one or remove the element that holds it"),
    N_("the condition “%(code)s” cannot run here: %(reason)s"),
    N_("the expression “%(code)s” cannot run here: %(reason)s"),
    N_("the timer “%(code)s” cannot run here: %(reason)s"),
    N_("the script cannot run here: %(reason)s"),
    # workflows/steps.py check_step
    N_("property unit must be one of %(choices)s, not '%(value)s'"),
    N_("no role: put it in a known lane or set the roles property (lane '%(lane)s')"),
    N_("unknown role '%(role)s'"),
    N_("unknown task_state '%(state)s'"),
    N_("no form '%(form)s'"),
    N_("due '%(due)s' is not a duration such as P10D"),
    N_("property due_calendar must be one of %(choices)s, not '%(value)s'"),
    N_("due '%(due)s' counts working days: write whole days such as P10D"),
    # workflows/sandbox.py: what the whitelist refuses (the `reason` of the code messages above)
    N_("syntax error: %(detail)s"),
    N_("import statements are not allowed"),
    N_("attribute access is not allowed"),
    N_("lambda functions are not allowed"),
    N_("function definitions are not allowed"),
    N_("class definitions are not allowed"),
    N_("with blocks are not allowed"),
    N_("loops are not allowed"),
    N_("star arguments are not allowed"),
    N_("comprehensions are not allowed"),
    N_("f-strings are not allowed"),
    N_("the ** operator is not allowed"),
    N_("del statements are not allowed"),
    N_("if statements are not allowed"),
    N_("the := operator is not allowed"),
    N_("calling anything but a named safe function is not allowed"),
    N_("assigning to anything but a name or an item of a name is not allowed"),
    N_("a statement that is only a value is not allowed"),
    N_("** unpacking is not allowed"),
    N_("code that is not text is not allowed"),
    N_("code that cannot be compiled safely is not allowed (%(detail)s)"),
    N_("calling %(name)s is not allowed"),
    N_("assigning to %(name)s is not allowed"),
    N_("name %(name)s is not allowed"),
    N_("constants of type %(type)s are not allowed"),
    N_("strings longer than %(limit)s characters are not allowed"),
    N_("code longer than %(limit)s characters is not allowed"),
    N_("%(syntax)s syntax is not allowed"),
)
UNKNOWN = N_("the diagram check reports: %(detail)s")
WITH_LINE = N_("%(reason)s (line %(line)s)")

ELEMENT_TYPES: dict[str, str] = {
    "definitions": N_("Document"),
    "process": N_("Process"),
    "userTask": N_("User task"),
    "manualTask": N_("Manual task"),
    "serviceTask": N_("Service task"),
    "scriptTask": N_("Script task"),
    "businessRuleTask": N_("Business rule task"),
    "sendTask": N_("Send task"),
    "receiveTask": N_("Receive task"),
    "task": N_("Untyped task"),
    "subProcess": N_("Sub-process"),
    "adHocSubProcess": N_("Ad-hoc sub-process"),
    "transaction": N_("Transaction"),
    "callActivity": N_("Call activity"),
    "sequenceFlow": N_("Sequence flow"),
    "exclusiveGateway": N_("Exclusive gateway"),
    "inclusiveGateway": N_("Inclusive gateway"),
    "parallelGateway": N_("Parallel gateway"),
    "eventBasedGateway": N_("Event-based gateway"),
    "startEvent": N_("Start event"),
    "endEvent": N_("End event"),
    "intermediateCatchEvent": N_("Intermediate catch event"),
    "intermediateThrowEvent": N_("Intermediate throw event"),
    "boundaryEvent": N_("Boundary event"),
    "dataStore": N_("Data store"),
    "lane": N_("Lane"),
}
OTHER_ELEMENT = N_("Element")
NAMED = N_("%(kind)s '%(name)s' (id %(id)s): %(reason)s")
UNNAMED = N_("%(kind)s (id %(id)s): %(reason)s")
AT_LINE = N_("Line %(line)s: %(reason)s")

_PLACEHOLDER = re.compile(r"%\\\((\w+)\\\)s")
_LINE_SUFFIX = re.compile(r"^(?P<reason>.*) \(line (?P<line>-?\d+)\)$", re.DOTALL)


def _pattern(template: str) -> re.Pattern:
    return re.compile(_PLACEHOLDER.sub(r"(?P<\1>.*?)", re.escape(template)), re.DOTALL)


_PATTERNS = tuple((_pattern(template), template) for template in TEMPLATES)


def translate_message(message: str) -> str:
    """An English problem message in the user's language (its template translated, values kept)."""
    message = message.strip()
    for pattern, template in _PATTERNS:
        match = pattern.fullmatch(message)
        if match:
            values = match.groupdict()
            if "reason" in values:
                values["reason"] = translate_message(values["reason"])
            return gettext(template) % values if values else gettext(template)
    suffix = _LINE_SUFFIX.fullmatch(message)
    if suffix:
        return gettext(WITH_LINE) % {"reason": translate_message(suffix["reason"]), "line": suffix["line"]}
    return gettext(UNKNOWN) % {"detail": message}


def element_type_label(element_type: str | None) -> str:
    return gettext(ELEMENT_TYPES.get(element_type or "", OTHER_ELEMENT))


def describe(problem: Problem) -> str:
    """The whole sentence: which element (type, name, id), then the reason, in the user's language."""
    reason = translate_message(problem.message)
    if problem.element_id:
        values = {
            "kind": element_type_label(problem.element_type),
            "id": problem.element_id,
            "reason": reason,
        }
        name = " ".join((problem.element_name or "").split())
        return gettext(NAMED) % {**values, "name": name} if name else gettext(UNNAMED) % values
    if problem.line:
        return gettext(AT_LINE) % {"line": problem.line, "reason": reason}
    return reason[:1].upper() + reason[1:]


def problem_json(problem: Problem) -> dict:
    """One problem for the API: where it is, and the sentence in the request's language."""
    return {
        "element_id": problem.element_id,
        "element_name": problem.element_name,
        "element_type": problem.element_type,
        "line": problem.line,
        "message": describe(problem),
    }


def problems_json(problems: Iterable[Problem]) -> list[dict]:
    return [problem_json(problem) for problem in problems]
