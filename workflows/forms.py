"""Step forms: JSON Schema files beside each diagram, validated on the server.

Forms live in `bpmn/forms/<process key>/<form key>.json`. Besides standard JSON Schema (draft
2020-12) our renderer understands a few `x-` hints: `x-widget: textarea`, `x-enum-labels`,
`x-options` (options filled by the server, e.g. `consultable_units`) and, on the form itself,
`x-requires-comment` ({"decision": ["return"]}: a comment is required for these values).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path

from flask_babel import gettext as _
from jsonschema import Draft202012Validator, FormatChecker

DEFAULT_DECISION_FORM = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Quyết định",
    "type": "object",
    "additionalProperties": False,
    "required": ["decision"],
    "properties": {
        "decision": {
            "title": "Quyết định",
            "type": "string",
            "enum": ["approve", "return"],
            "x-enum-labels": {"approve": "Đồng ý", "return": "Trả lại"},
        }
    },
    "x-requires-comment": {"decision": ["return"]},
}


def load_forms(directory: Path) -> dict[str, dict]:
    """Every `<key>.json` in a folder, by key (an absent folder has no forms)."""
    if not directory.is_dir():
        return {}
    paths = sorted(directory.glob("*.json"))
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in paths}


def _is_iso_date(value) -> bool:
    if not isinstance(value, str):
        return True
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def validate_form(
    schema: dict,
    data,
    comment: str | None,
    unit_exists: Callable[[str], bool],
    choices: Mapping[str, set[str]] | None = None,
) -> dict[str, str]:
    """Field name -> what is wrong, in the user's language; empty when the data is valid.

    `choices` holds, for fields whose options the server fills (`x-options`), the values on offer:
    anything else is refused even when the schema alone would allow it.
    """
    if not isinstance(data, dict):
        return {"data": _("must be an object of field values")}
    checker = FormatChecker(formats=())
    checker.checks("date")(_is_iso_date)
    checker.checks("unit-code")(lambda v: not isinstance(v, str) or unit_exists(v))
    errors: dict[str, str] = {}
    for error in Draft202012Validator(schema, format_checker=checker).iter_errors(data):
        field = _field_of(error)
        errors.setdefault(field, _message(error, schema))
    for field, offered in (choices or {}).items():
        value = data.get(field)
        values = value if isinstance(value, list) else [value] if value is not None else []
        if field not in errors and any(v not in offered for v in values):
            errors[field] = _("Choose one of the offered values.")
    for field, values in (schema.get("x-requires-comment") or {}).items():
        if data.get(field) in values and not (comment or "").strip():
            errors.setdefault("comment", _("A comment is required when returning the work."))
    return errors


def _field_of(error) -> str:
    if error.validator == "required":
        return error.message.split("'")[1]
    if error.validator == "additionalProperties":
        return "data"
    return str(error.absolute_path[0]) if error.absolute_path else "data"


def _message(error, schema: dict) -> str:
    kind = error.validator
    if kind == "required":
        return _("This field is required.")
    if kind == "minLength" and error.validator_value == 1:
        return _("This field is required.")
    if kind == "minItems":
        return _("Choose at least %(n)s.", n=error.validator_value)
    if kind == "enum":
        return _("Choose one of the offered values.")
    if kind == "format" and error.validator_value == "date":
        return _("Not a valid date.")
    if kind == "format" and error.validator_value == "unit-code":
        return _("Unknown unit '%(code)s'.", code=error.instance)
    if kind == "additionalProperties":
        return _("Unexpected fields: %(fields)s.", fields=", ".join(sorted(_extra(error, schema))))
    if kind == "type":
        return _("Wrong type of value.")
    if kind == "maxLength":
        return _("Too long (at most %(n)s characters).", n=error.validator_value)
    if kind == "uniqueItems":
        return _("Each value may be chosen once.")
    return error.message


def _extra(error, schema: dict) -> set[str]:
    allowed = set((schema.get("properties") or {}).keys())
    return set(error.instance) - allowed if isinstance(error.instance, dict) else set()
