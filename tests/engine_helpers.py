"""Shared helpers for the engine tests: demo objects by name, form data from a form, table dumps.

Everything here reads the demo database of the `app` fixture (tests/conftest.py) through the
current app context.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.models import ProcessInstance, Task, Unit, User, WorkItem, WorkItemStatus
from app.services.form_options import options_for
from workflows.step_data import step_form

# Units a multi-instance "consult these units" input gets: one internal staffed unit, one outside body.
CONSULTED_UNITS = ["VP", "SO_NGANH_DP"]
SAMPLE_DATE = "2025-03-04"
SAMPLE_TEXT = "Nội dung thử nghiệm"


def sample_value(prop: dict) -> Any:
    """A minimal valid value for one JSON Schema property (decisions approve, unit lists CONSULTED_UNITS)."""
    if "const" in prop:
        return prop["const"]
    if "enum" in prop:
        return "approve" if "approve" in prop["enum"] else prop["enum"][0]
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next(k for k in kind if k != "null")
    if kind == "string":
        if prop.get("format") == "date":
            return SAMPLE_DATE
        if prop.get("format") == "unit-code":
            return CONSULTED_UNITS[0]
        text = SAMPLE_TEXT * (1 + prop.get("minLength", 1) // len(SAMPLE_TEXT))
        return text[: prop["maxLength"]] if "maxLength" in prop else text
    if kind == "array":
        items = prop.get("items", {})
        if prop.get("x-options") == "consultable_units" or items.get("format") == "unit-code":
            return list(CONSULTED_UNITS)
        return [sample_value(items) for _ in range(max(1, prop.get("minItems", 1)))]
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        return prop.get("minimum", 1)
    if kind == "object" or "properties" in prop:
        return sample_data(prop)
    raise ValueError(f"no sample for property schema {prop!r}")


def sample_data(schema: dict, **overrides: Any) -> dict:
    """Minimal valid data for a form: its required fields only, then `overrides`."""
    properties = schema.get("properties") or {}
    data = {name: sample_value(properties.get(name, {})) for name in schema.get("required", [])}
    data.update(overrides)
    return data


def user(username: str) -> User:
    return db.session.scalars(select(User).where(User.username == username)).one()


def unit(code: str) -> Unit:
    return db.session.scalars(select(Unit).where(Unit.code == code)).one()


def task(code: str) -> Task:
    return db.session.scalars(select(Task).where(Task.code == code)).one()


def open_items(task_obj: Task, step: str | None = None) -> list[WorkItem]:
    query = select(WorkItem).where(WorkItem.task_id == task_obj.id, WorkItem.status == WorkItemStatus.OPEN)
    if step is not None:
        query = query.where(WorkItem.step == step)
    return list(db.session.scalars(query.order_by(WorkItem.id)))


def open_item(task_obj: Task, step: str, item_unit: str | None = None) -> WorkItem:
    """The one open work item of `step` (of the consulted unit `item_unit` for multi-instance steps)."""
    items = [
        item
        for item in open_items(task_obj, step)
        if item_unit is None or (item.item_unit is not None and item.item_unit.code == item_unit)
    ]
    assert len(items) == 1, f"expected one open {step} item, found {items}"
    return items[0]


def form_of(item: WorkItem) -> dict:
    """The item's form as the engine checks it (with the "5 rõ" fields on a first step); fields whose
    choices the server offers carry them as an `enum`, so `sample_data` picks an offered one."""
    schema = step_form(item)
    offered = options_for(schema, item.task)
    properties = {
        name: (
            {**field, "enum": [value for value, _ in offered[name]]}
            if field.get("x-options") == "assignable_users"
            else field
        )
        for name, field in (schema.get("properties") or {}).items()
    }
    return {**schema, "properties": properties}


def instance_of(task_obj: Task) -> ProcessInstance:
    return db.session.scalars(select(ProcessInstance).where(ProcessInstance.task_id == task_obj.id)).one()


def dump_tables() -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order, read from the database (not the session)."""
    db.session.expire_all()
    dump = {}
    for table in db.metadata.sorted_tables:
        rows = db.session.execute(select(table).order_by(*table.primary_key.columns)).all()
        dump[table.name] = [tuple(row) for row in rows]
    return dump


def as_json(value: Any) -> str:
    """Canonical JSON (states must be JSON as stored, so no `default=`)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


class DriverError(Exception):
    """A driver error as psycopg raises it, its SQLSTATE in `sqlstate` (40P01: a deadlock)."""

    def __init__(self, sqlstate: str):
        super().__init__(f"SQLSTATE {sqlstate}")
        self.sqlstate = sqlstate


def make_commit_fail(monkeypatch, sqlstate: str) -> None:
    """The session's next commits fail as PostgreSQL's would, after the statements reached the database
    (undo with monkeypatch.undo())."""

    def failing():
        db.session.flush()
        raise OperationalError("COMMIT", {}, DriverError(sqlstate))

    monkeypatch.setattr(db.session, "commit", failing)
