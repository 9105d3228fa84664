"""A draft's problems as the modeler lists them: element id, name, line, and the reason in the user's
language.

The engine's messages (workflows/definitions.py, bpmn_checks.py, steps.py, the sandbox, SpiffWorkflow) are
translated by workflows/problem_text.py; the few the drafts service adds (app/services/process_drafts.py)
are translated here, the same way: English templates as msgids, values kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import gettext

from workflows.problem_text import translate_message
from workflows.problems import Problem


def N_(text: str) -> str:  # noqa: N802 - the marker pybabel extracts (translated at render time)
    return text


KEY_TAKEN = N_(
    "the process id '%(key)s' is already used by a deployed process: open that process to change it"
)
FORM_NOT_JSON = N_("form '%(form)s' is not valid JSON: %(detail)s")
FORM_NOT_OBJECT = N_("form '%(form)s' must be a JSON object")
FORMS_UNREADABLE = N_("the forms could not be read: %(detail)s")
DEPLOYED_MEANWHILE = N_("another version of this process was deployed at the same moment: try again")
TEMPLATES = (KEY_TAKEN, FORM_NOT_JSON, FORM_NOT_OBJECT, FORMS_UNREADABLE, DEPLOYED_MEANWHILE)

_PLACEHOLDER = re.compile(r"%\\\((\w+)\\\)s")
_PATTERNS = tuple(
    (re.compile(_PLACEHOLDER.sub(r"(?P<\1>.*?)", re.escape(template)), re.DOTALL), template)
    for template in TEMPLATES
)


@dataclass(frozen=True)
class ShownProblem:
    element_id: str | None
    element_name: str | None
    line: int | None
    reason: str  # in the user's language

    def as_dict(self) -> dict:
        return {
            "element_id": self.element_id,
            "element_name": self.element_name,
            "line": self.line,
            "reason": self.reason,
        }


def explain(message: str) -> str:
    """The reason of one problem in the user's language."""
    message = (message or "").strip()
    for pattern, template in _PATTERNS:
        match = pattern.fullmatch(message)
        if match:
            return gettext(template) % match.groupdict()
    return translate_message(message)


def shown(problems: Iterable[Problem | dict]) -> list[ShownProblem]:
    """Problems (or the dicts a draft stores) ready for the list and the diagram's markers."""
    result = []
    for problem in problems:
        values = problem.as_dict() if isinstance(problem, Problem) else dict(problem)
        reason = explain(str(values.get("message") or ""))
        where = (values.get("element_id"), values.get("element_name"), values.get("line"))
        result.append(ShownProblem(*where, reason))
    return result
