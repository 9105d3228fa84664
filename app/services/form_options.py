"""Step forms on the web: the options a form offers (`x-options`) and reading a submitted HTML form.

The JSON Schema of a step (definition.forms[form_key]) drives both: `options_for` fills the choices
the server knows (e.g. the units that may be consulted), `data_from_form` turns the posted fields
into the dict `workflows.engine.advance` validates. Fields the schema does not name are ignored.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping

from sqlalchemy import bindparam, case, select
from werkzeug.datastructures import MultiDict

from app.extensions import db
from app.models import Task, Unit, UnitKind

# Internal units that answer for themselves (Lãnh đạo Sở is not consulted on drafts).
CONSULTABLE_KINDS = (UnitKind.OFFICE, UnitKind.DIVISION, UnitKind.CENTRE, UnitKind.SUB_UNIT)
CONSULTED_ON_DRAFTS = "consulted_on_drafts"
COMMENT_FIELD = "comment"
TRUE_VALUES = ("true", "on", "1", "yes")

Option = tuple[str, str]


# Plain rows of table columns (a select of mapped attributes goes through the ORM's loader: 0.2 ms
# more), built once (a reused statement keeps its cache key): a step's validation reads this list on
# every draft. Only outside bodies bring their roles (JSON decoded per row).
_UNITS = Unit.__table__.c
_CONSULTABLE = (
    select(
        _UNITS.id,
        _UNITS.code,
        _UNITS.name,
        _UNITS.kind,
        case((_UNITS.kind == UnitKind.EXTERNAL, _UNITS.external_roles)).label("external_roles"),
    )
    .where(_UNITS.kind.in_((*CONSULTABLE_KINDS, UnitKind.EXTERNAL)), _UNITS.active.is_(True))
    .order_by(case((_UNITS.kind == UnitKind.EXTERNAL, 1), else_=0), _UNITS.id)
)
# The same, only among given codes: checking what a step submits reads those rows by the code's unique
# index, not every unit of the department (400 divisions at the benchmark's full size: 0.8 ms).
_CONSULTABLE_AMONG = _CONSULTABLE.where(_UNITS.code.in_(bindparam("codes", expanding=True)))


def consultable_units(task: Task | None = None, among: Collection[str] | None = None) -> list[Option]:
    """(code, name) of the staffed units, then the outside bodies consulted on drafts; only those whose
    code is `among` when given.

    The task's own lead unit is left out: it is the one asking.
    """
    lead_ids = ({task.lead_unit_id, task.lead_sub_unit_id} - {None}) if task is not None else set()
    if among is None:
        rows = db.session.execute(_CONSULTABLE)
    elif not among:
        return []
    else:
        rows = db.session.execute(_CONSULTABLE_AMONG, {"codes": list(among)})
    return [
        (code, name)
        for unit_id, code, name, kind, roles in rows
        if unit_id not in lead_ids and (kind != UnitKind.EXTERNAL or CONSULTED_ON_DRAFTS in (roles or []))
    ]


def assignable_users(task: Task | None = None, among: Collection[str] | None = None) -> list[Option]:
    """(username, "full name — unit") of the people who may be made responsible for the task; only
    those whose username is `among` when given."""
    from app.services.task_editing import assignable_users as users_for  # it imports the engine

    if task is None:
        return []
    return [
        (user.username, f"{user.full_name} — {user.unit.name}")
        for user in users_for(task)
        if among is None or user.username in among
    ]


OPTION_SOURCES = {"consultable_units": consultable_units, "assignable_users": assignable_users}


def offered_among(schema: Mapping, task: Task | None, data: Mapping) -> dict[str, set[str]]:
    """Field -> which of the values `data` gives it the server offers, for each `x-options` field that
    `data` fills (an option list nobody chose from is not read; a chosen one is read only for the
    values chosen)."""
    offered = {}
    for name, field in (schema.get("properties") or {}).items():
        source = OPTION_SOURCES.get(field.get("x-options") or (field.get("items") or {}).get("x-options"))
        value = data.get(name)
        if source is None or value is None:
            continue
        chosen = {item for item in (value if isinstance(value, list) else [value]) if isinstance(item, str)}
        offered[name] = {option for option, _label in source(task, among=chosen)}
    return offered


def options_for(schema: Mapping, task: Task | None = None) -> dict[str, list[Option]]:
    """Field name -> its (value, label) choices: `x-options` filled by the server, and enums
    (of a field or of an array's items) labelled by `x-enum-labels`."""
    options = {}
    for name, field in (schema.get("properties") or {}).items():
        items = field.get("items") or {}
        source = OPTION_SOURCES.get(field.get("x-options") or items.get("x-options"))
        if source is not None:
            options[name] = source(task)
        elif field.get("enum") or items.get("enum"):
            described = field if field.get("enum") else items
            enum_labels = described.get("x-enum-labels") or {}
            options[name] = [(str(value), enum_labels.get(value, str(value))) for value in described["enum"]]
    return options


def comment_required_for(schema: Mapping) -> list[str]:
    """The labels of the choices that make a comment required (`x-requires-comment`)."""
    labels = []
    for name, values in (schema.get("x-requires-comment") or {}).items():
        field = (schema.get("properties") or {}).get(name) or {}
        enum_labels = field.get("x-enum-labels") or {}
        labels += [enum_labels.get(value, str(value)) for value in values]
    return labels


def unit_names(codes) -> dict[str, str]:
    """Code -> name for the given unit codes (unknown codes are left out)."""
    codes = [code for code in codes if isinstance(code, str)]
    if not codes:
        return {}
    rows = db.session.execute(select(Unit.code, Unit.name).where(Unit.code.in_(codes)))
    return dict(rows.tuples().all())


def data_from_form(schema: Mapping, form: MultiDict) -> dict:
    """The schema's fields from a posted form, typed as the schema says.

    Arrays come from repeated fields (checkboxes), booleans from a checkbox (absent = false) or a
    true/false radio, text is trimmed and an empty text field is left out (so "required" reports it).
    A number that does not parse is kept as text for the validator to report.
    """
    data: dict = {}
    for name, field in (schema.get("properties") or {}).items():
        kind = field.get("type")
        if kind == "array":
            data[name] = [value.strip() for value in form.getlist(name) if value.strip()]
        elif kind == "boolean":
            data[name] = (form.get(name) or "").strip().lower() in TRUE_VALUES
        elif kind in ("integer", "number"):
            text = (form.get(name) or "").strip()
            if text:
                data[name] = _number(text, kind)
        else:
            text = (form.get(name) or "").strip()
            if text:
                data[name] = text
    return data


def comment_from_form(form: MultiDict) -> str | None:
    return (form.get(COMMENT_FIELD) or "").strip() or None


def _number(text: str, kind: str) -> int | float | str:
    """The number typed, or the text as typed when it is not one (the form then says so). "nan" and
    "inf" are not numbers here: JSON has no such values."""
    try:
        number = int(text) if kind == "integer" else float(text.replace(",", "."))
    except ValueError:
        return text
    return number if math.isfinite(number) else text
