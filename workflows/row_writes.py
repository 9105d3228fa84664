"""Writing the engine's rows as single SQL statements, keeping the session's objects as written.

The ORM's unit of work costs about a millisecond a flush; a step writes a handful of known columns of
rows it already holds. These helpers send one UPDATE each and record the new values on the objects
as their committed state (`set_committed_value`), so the session neither writes them again nor reads
them back: what a step returns is what is in the database. Each statement is built once per table and
set of columns and then reused: a reused statement keeps its cache key, so a step does not pay for
building its queries again.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

from sqlalchemy import Table, and_, bindparam, func, insert, inspect, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm.util import identity_key

from app.extensions import db
from app.models import ProcessInstance, Task, WorkItem, WorkItemStatus
from workflows.row_reads import attach_as_loaded, on_postgresql

_INSTANCES = ProcessInstance.__table__
_TASKS = Task.__table__
_WORK_ITEMS = WorkItem.__table__


def _committed(obj, values: dict) -> None:
    for name, value in values.items():
        set_committed_value(obj, name, value)


def insert_new(model: type, rows: list[dict]) -> list:
    """INSERT rows of one model now, one statement, and return them as the session's persistent objects
    (ids set, every value committed). Every column without a default must be given (None is a value);
    relationships are left to the caller (`set_committed_value`) or load lazily."""
    if not rows:
        return []
    key, columns, statement = _insert_of(model)
    values = [_row_values(model, row, columns) for row in rows]
    ids = db.session.execute(statement, values).scalars().all()
    session, mapper = db.session(), inspect(model)
    made = []
    for row, new_id in zip(values, ids, strict=True):
        obj = mapper.class_manager.new_instance()
        obj.__dict__.update(row)
        obj.__dict__[key.key] = new_id
        attach_as_loaded(session, obj, mapper.identity_key_from_primary_key((new_id,)))
        made.append(obj)
    return made


@cache
def _insert_of(model: type):
    """(primary key column, the other column properties, the INSERT ... RETURNING id) of a model."""
    mapper = inspect(model)
    [key] = mapper.primary_key
    columns = [prop for prop in mapper.column_attrs if prop.columns[0] is not key]
    return key, columns, insert(mapper.local_table).returning(key, sort_by_parameter_order=True)


@cache
def _update_of(table: Table, names: tuple[str, ...], versioned: bool = False):
    """UPDATE table SET <names> WHERE id = :row_id [AND lock_version = :old_version]; each new value is
    bound as `new_<name>` (a column's own name is reserved for the SET clause)."""
    where = [table.c.id == bindparam("row_id")]
    if versioned:
        where.append(table.c.lock_version == bindparam("old_version"))
    values = {name: bindparam(f"new_{name}") for name in names}
    if table is _TASKS:
        values["updated_at"] = func.now()
    return update(table).where(*where).values(values)


def _run_update(table: Table, row_id: int, values: dict, old_version: int | None = None):
    names = tuple(sorted(values))
    statement = _update_of(table, names, old_version is not None)
    params = {f"new_{name}": values[name] for name in names} | {"row_id": row_id}
    if old_version is not None:
        params["old_version"] = old_version
    return db.session.execute(statement, params)


def _row_values(model: type, row: dict, columns) -> dict:
    unknown = set(row) - {prop.key for prop in columns}
    if unknown:
        raise ValueError(f"{model.__name__} has no column {', '.join(sorted(unknown))}")
    values = {}
    for prop in columns:
        if prop.key in row:
            values[prop.key] = row[prop.key]
        elif prop.columns[0].default is None and prop.columns[0].server_default is None:
            values[prop.key] = None
        else:
            raise ValueError(f"{model.__name__}.{prop.key} has a default: give its value")
    return values


def update_instance_reading_open_items(instance: ProcessInstance, **values) -> list:
    """UPDATE the instance's columns and bump its version column, if nobody changed the row since it
    was read (else StaleDataError, as the ORM's own versioned UPDATE raises). Returns the instance's open
    work items afterwards as (id, spiff_task_id) rows by id, what `sync_work_items` compares with the
    workflow's READY steps: on PostgreSQL read by the same statement (one round trip, under the
    instance's row lock the step holds), elsewhere by a second one."""
    version = instance.lock_version
    values["lock_version"] = version + 1
    names = tuple(sorted(values))
    params = {f"new_{name}": values[name] for name in names} | {"row_id": instance.id, "old_version": version}
    if on_postgresql():
        rows = db.session.execute(_update_reading_open_items(names), params).all()
        updated, open_rows = bool(rows), [row for row in rows if row.id is not None]
    else:
        updated = db.session.execute(_update_of(_INSTANCES, names, True), params).rowcount == 1
        open_rows = db.session.execute(_OPEN_ROWS_OF_INSTANCE, {"instance_id": instance.id}).all()
    if not updated:
        raise StaleDataError(f"process instance {instance.id} changed since it was read")
    _committed(instance, values)
    return open_rows


_OPEN_ROWS_OF_INSTANCE = (
    select(_WORK_ITEMS.c.id, _WORK_ITEMS.c.spiff_task_id)
    .where(
        _WORK_ITEMS.c.instance_id == bindparam("instance_id"),
        _WORK_ITEMS.c.status == WorkItemStatus.OPEN,
    )
    .order_by(_WORK_ITEMS.c.id)
)


@cache
def _update_reading_open_items(names: tuple[str, ...]):
    """PostgreSQL: WITH updated AS (the versioned UPDATE ... RETURNING id) SELECT the open items joined to
    it: no row when nothing was updated, one row of NULLs when it was and nothing is open."""
    updated = _update_of(_INSTANCES, names, True).returning(_INSTANCES.c.id).cte("updated")
    items = _WORK_ITEMS.c
    return (
        select(items.id, items.spiff_task_id)
        .select_from(
            updated.outerjoin(
                _WORK_ITEMS, and_(items.instance_id == updated.c.id, items.status == WorkItemStatus.OPEN)
            )
        )
        .order_by(items.id)
    )


def update_task(task: Task, now: datetime, **values) -> None:
    """UPDATE the task's columns (and its updated_at); nothing when they already hold these values."""
    changed = {name: value for name, value in values.items() if getattr(task, name) != value}
    if not changed:
        return
    _run_update(_TASKS, task.id, changed)
    _committed(task, changed | {"updated_at": now})


_CANCEL_ITEMS = (
    update(_WORK_ITEMS)
    .where(_WORK_ITEMS.c.id.in_(bindparam("ids", expanding=True)))
    .values(status=WorkItemStatus.CANCELLED, completed_at=bindparam("cancelled_at"))
)


def cancel_rows(item_ids: list[int], now: datetime) -> None:
    """Mark open items cancelled (their step is no longer waiting); those the session holds too."""
    if not item_ids:
        return
    db.session.execute(_CANCEL_ITEMS, {"ids": item_ids, "cancelled_at": now})
    values = {"status": WorkItemStatus.CANCELLED, "completed_at": now}
    for item_id in item_ids:
        held = db.session.identity_map.get(identity_key(WorkItem, item_id))
        if held is not None:
            _committed(held, values)
