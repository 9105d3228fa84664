"""Reading the rows a step acts on as plain values and making them the session's objects.

Every API request reads the token's holder and the work item with its instance, definition, task and
section. Through the ORM's loader that costs 0.3–0.4 ms a statement (it builds its row processors for
every entity on every execution); the same statement read as plain columns costs about 0.07 ms, and
turning a row into its objects about 0.01 ms each. `RowShape` does that: it names the columns of a
model to select, and makes each row's values the session's persistent object, exactly as the ORM's
loader does (loading.py `_instance`): a new instance without `__init__`, its identity key, added to the
identity map, all values committed. An object the session already holds is returned as it is (its
pending changes are kept), as a query would. Relationships are set by the caller with
`set_committed_value`, or load lazily as usual.

`attach_as_loaded` is the one place that uses SQLAlchemy's internals (pinned in pyproject.toml);
tests/test_row_reads.py checks that the objects behave like loaded ones: a change is flushed, expiry
reloads, lazy relationships load, the identity map gives the same object.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import FromClause, inspect, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state

from app.extensions import db


def on_postgresql() -> bool:
    """Whether the session's database is PostgreSQL: where a step's statements are merged or rows are
    locked (FOR UPDATE, a data-modifying WITH), which SQLite, one writer at a time, does not need."""
    return db.session.get_bind().dialect.name == "postgresql"


_JOINS_AS_WRITTEN = text("SET LOCAL join_collapse_limit = 1")
_USUAL_JOIN_ORDER = text("SET LOCAL join_collapse_limit = DEFAULT")


@contextmanager
def joins_in_written_order() -> Iterator[None]:
    """On PostgreSQL, plan the statements run inside with their joins in the order written
    (`join_collapse_limit = 1`, for this transaction until the block ends). For a statement that starts
    from the rows it wants and joins what they refer to, by primary key, that order is the best one, and
    searching for it costs more than running the statement: the worklist page's (the page's ids, then
    each item with its task, instance, definition, units and assignee) took 3.6 ms to plan and 0.9 ms to
    run at the full benchmark size, and PostgreSQL plans it afresh each time (a generic plan is judged
    dearer). Only for statements written that way: elsewhere the planner's choice of order matters."""
    if not on_postgresql():
        yield
        return
    session = db.session()
    session.execute(_JOINS_AS_WRITTEN)
    try:
        yield
    except DBAPIError:
        # the transaction failed: its rollback undoes the setting, and a statement now would fail too and
        # hide this error (a deadlock must stay a deadlock, for the 409 that asks to send again)
        raise
    except BaseException:
        session.execute(_USUAL_JOIN_ORDER)
        raise
    session.execute(_USUAL_JOIN_ORDER)


def attach_as_loaded(session: Session, obj: Any, key: tuple) -> None:
    """Make a new, never-added object (values in its __dict__) persistent in `session` under identity
    `key`, its values committed, as if a query had loaded it."""
    state = instance_state(obj)
    state.key, state.identity_token = key, None
    state.session_id = session.hash_key
    session.identity_map._add_unpresent(state, key)
    state._commit_all(state.dict, session.identity_map)


class RowShape:
    """The columns of a model a statement selects, and the session's object for a row's values."""

    def __init__(
        self, model: type, only: Iterable[str] | None = None, table: FromClause | None = None
    ) -> None:
        """All the columns a query of `model` loads, or `only` these; of `table` when given (an alias of
        the model's table, for a statement that joins the table twice)."""
        mapper = inspect(model)
        wanted = set(only) if only is not None else None
        props = [
            prop
            for prop in mapper.column_attrs
            if (wanted is None and not prop.deferred) or (wanted is not None and prop.key in wanted)
        ]
        self.model, self.mapper = model, mapper
        self.keys = tuple(prop.key for prop in props)
        source = table if table is not None else mapper.local_table
        self.columns = tuple(source.c[prop.columns[0].key] for prop in props)
        self.width = len(props)
        primary = [column.key for column in mapper.primary_key]
        self._key_at = tuple(self.keys.index(name) for name in primary)
        # Columns a full load would read that this shape leaves out: expired, so that reading one loads
        # them (a statement) instead of answering None.
        self._left_out = [
            prop.key for prop in mapper.column_attrs if not prop.deferred and prop.key not in self.keys
        ]

    def object(self, session: Session, values: Sequence[Any]) -> tuple[Any, bool]:
        """(the object of this row, whether it is new to the session); (None, False) for a row of NULLs
        (an outer join that found nothing)."""
        identity = tuple(values[index] for index in self._key_at)
        if identity[0] is None:
            return None, False
        key = self.mapper.identity_key_from_primary_key(identity)
        held = session.identity_map.get(key)
        if held is not None:
            return held, False
        obj = self.mapper.class_manager.new_instance()
        obj.__dict__.update(zip(self.keys, values, strict=True))
        attach_as_loaded(session, obj, key)
        if self._left_out:
            session.expire(obj, self._left_out)
        return obj, True


def row_objects(session: Session, row: Sequence[Any], shapes: Sequence[RowShape]) -> list[tuple[Any, bool]]:
    """(object, new to the session) of each shape, for a row that selected their columns in order."""
    found, start = [], 0
    for shape in shapes:
        found.append(shape.object(session, row[start : start + shape.width]))
        start += shape.width
    return found
