"""Checking what a user submits for a step against the step's form, before anything is written."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Unit, WorkItem
from app.services.five_clears import with_first_step_fields
from app.services.form_options import offered_among
from workflows.forms import validate_form
from workflows.runtime import forms_of, loaded_spec


def step_data_errors(item: WorkItem, data, comment: str | None) -> dict[str, str]:
    """Field -> what is wrong with `data` (and the comment) for the item's step; empty when valid."""
    schema = step_form(item)
    choices = offered_among(schema, item.task, data if isinstance(data, dict) else {})
    fields = schema.get("properties") or {}
    unit_fields = [
        name
        for name in choices
        if "unit-code" in (fields[name].get("format"), (fields[name].get("items") or {}).get("format"))
    ]
    known = _UnitCodes(set().union(*(choices[name] for name in unit_fields)))  # on offer: they exist
    return validate_form(schema, data, comment, known.exists, choices)


def step_form(item: WorkItem) -> dict:
    """The JSON Schema form of the item's step (read without loading the instance's state): the form of
    the diagram, and on the first step of a process the "5 rõ" fields the task asks for."""
    form = forms_of(item.instance.definition).get(item.form_key or item.step, {})
    if is_first_step(item):
        return with_first_step_fields(form, item.task)
    return form


def is_first_step(item: WorkItem) -> bool:
    """A step the process opens with (also when the work comes back to it)."""
    return item.step in loaded_spec(item.instance.definition).first_steps


class _UnitCodes:
    """The known unit codes, read on the first `format: unit-code` value (forms without one read none)."""

    def __init__(self, offered: set[str] | None = None) -> None:
        self._offered = offered or set()
        self._codes: set[str] | None = None

    def exists(self, code: str) -> bool:
        if code in self._offered:
            return True
        if self._codes is None:
            self._codes = set(db.session.scalars(select(Unit.code).where(Unit.active.is_(True))))
        return code in self._codes
