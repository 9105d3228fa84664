"""Finding audit rows: who did what, when. Filters, newest first, keyset pagination with an opaque cursor.

Filters: the actor (username; matched on the actor's user id, which the existing index serves), the
actor's unit at the time (the `actor_unit_code` snapshot), the task (id or code; a code names the task in
every plan that has it), one or several actions, and a date range of days in Asia/Ho_Chi_Minh, both ends
inclusive, turned into UTC bounds. Pages are ordered by (at desc, id desc); the cursor is the base64 of
the last row's `at` and `id`, so the next page is an index seek rather than an OFFSET; the page before
is read the same way from the first row's (`before`), oldest first, and turned.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, false, func, select, tuple_

from app.extensions import db
from app.models import AuditEvent, Role, Task, Unit, User
from app.services.clock import LOCAL_TZ, as_utc
from app.services.text_search import folded
from workflows.audit import Action

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_ACTIONS = 30
AUDIT_READERS = (Role.SUPERVISOR, Role.LEADER, Role.ADMIN)
_TEXT_LIMITS = {"actor": 80, "unit": 40, "task": 20}
_ACTION_PATTERN = re.compile(r"^[a-z][a-z_]*(\.[a-z_]+)+$")
_ID_PATTERN = re.compile(r"[0-9]{1,18}")  # ASCII digits that fit a 64-bit integer column
EARLIEST, LATEST = date(1900, 1, 1), date(9998, 12, 31)


def may_read_audit(user: User | None) -> bool:
    """Supervisors, leaders and admins read the whole trail; everyone else only a task's history."""
    return user is not None and user.has_role(*AUDIT_READERS)


def known_actions() -> list[str]:
    """Every action the app records (the constants of workflows.audit.Action)."""
    values = (getattr(Action, name) for name in dir(Action) if not name.startswith("_"))
    return sorted({value for value in values if isinstance(value, str)})


class FilterError(ValueError):
    """Parameters that do not make a query: `details` maps each parameter to what is wrong with it."""

    def __init__(self, details: dict[str, str]):
        super().__init__("invalid filters")
        self.details = details


@dataclass(frozen=True)
class AuditFilters:
    actor: str | None = None
    unit: str | None = None
    task: str | None = None
    actions: tuple[str, ...] = ()
    since: date | None = None
    until: date | None = None

    def as_dict(self) -> dict:
        """The filters that are set, as JSON values (recorded with an export, used in links)."""
        values = {
            "actor": self.actor,
            "unit": self.unit,
            "task": self.task,
            "action": list(self.actions) or None,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }
        return {key: value for key, value in values.items() if value}

    def query_args(self) -> list[tuple[str, str]]:
        """The filters as query-string pairs (repeated `action`), for shareable links."""
        pairs = []
        for key, value in self.as_dict().items():
            pairs.extend((key, item) for item in (value if isinstance(value, list) else [value]))
        return pairs


def parse_date(text: str) -> date:
    """A day as ISO YYYY-MM-DD (what a date input sends) or dd/mm/yyyy (what people type)."""
    text = text.strip()
    if re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", text):
        day, month, year = (int(part) for part in text.split("/"))
        return date(year, month, day)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return date.fromisoformat(text)
    raise ValueError(text)


def parse_filters(args: Mapping, *, check_exists: bool = False) -> AuditFilters:
    """Filters from query arguments (a MultiDict: `action` may repeat or be comma-separated).

    Raises FilterError. With `check_exists`, an unknown user, unit or task is an error too."""
    errors: dict[str, str] = {}
    texts = {}
    for name, limit in _TEXT_LIMITS.items():
        value = (args.get(name) or "").strip()
        if len(value) > limit:
            errors[name] = f"at most {limit} characters"
        texts[name] = value or None
    actions = _parse_actions(_getlist(args, "action"), errors)
    since = _parse_day(args.get("since"), "since", errors)
    until = _parse_day(args.get("until"), "until", errors)
    if since and until and until < since:
        errors["until"] = "must not be before since"
    if check_exists and not errors:
        _check_exists(texts, errors)
    if errors:
        raise FilterError(errors)
    return AuditFilters(texts["actor"], texts["unit"], texts["task"], actions, since, until)


def _getlist(args: Mapping, name: str) -> list[str]:
    values = args.getlist(name) if hasattr(args, "getlist") else [args.get(name)]
    return [part.strip() for value in values if value for part in str(value).split(",") if part.strip()]


def _parse_actions(values: list[str], errors: dict[str, str]) -> tuple[str, ...]:
    if len(values) > MAX_ACTIONS:
        errors["action"] = f"at most {MAX_ACTIONS} actions"
        return ()
    known = set(known_actions())
    unknown = [value for value in values if value not in known or not _ACTION_PATTERN.match(value)]
    if unknown:
        errors["action"] = "unknown action: " + ", ".join(v[:50] for v in unknown[:5])
    return tuple(dict.fromkeys(values))


def _parse_day(value: str | None, name: str, errors: dict[str, str]) -> date | None:
    if not value or not value.strip():
        return None
    try:
        day = parse_date(value)
    except ValueError:
        errors[name] = "a date as YYYY-MM-DD"
        return None
    if not EARLIEST <= day <= LATEST:
        errors[name] = f"a date from {EARLIEST.isoformat()} to {LATEST.isoformat()}"
        return None
    return day


def _check_exists(texts: dict[str, str | None], errors: dict[str, str]) -> None:
    if texts["actor"] and db.session.scalar(select(User.id).where(User.username == texts["actor"])) is None:
        errors["actor"] = "no such user"
    if texts["unit"] and db.session.scalar(select(Unit.id).where(Unit.code == texts["unit"])) is None:
        errors["unit"] = "no such unit"
    if texts["task"] and not db.session.scalar(select(func.count()).where(_task_clause(texts["task"]))):
        errors["task"] = "no such task"


def _task_clause(task: str):
    """Task.id for digits, else Task.code (a code may exist in several plans)."""
    return Task.id == int(task) if _ID_PATTERN.fullmatch(task) else Task.code == task


# --- cursor ---------------------------------------------------------------------------------------


def encode_cursor(event: AuditEvent) -> str:
    at = as_utc(event.at).isoformat(timespec="microseconds")
    return base64.urlsafe_b64encode(f"{at}|{event.id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str, parameter: str = "cursor") -> tuple[datetime, int]:
    """The (at, id) a cursor stands for; FilterError (naming `parameter`) for anything this module did
    not make."""
    try:
        if len(cursor) > 100:
            raise ValueError(cursor)
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at_text, _, id_text = raw.partition("|")
        if not _ID_PATTERN.fullmatch(id_text):
            raise ValueError(raw)
        at, event_id = datetime.fromisoformat(at_text), int(id_text)
        if at.tzinfo is None:
            raise ValueError(raw)
        at = at.astimezone(UTC)
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise FilterError({parameter: "not a cursor from this list"}) from None
    return at, event_id


def parse_limit(value: str | None) -> int:
    if value is None or not value.strip():
        return PAGE_SIZE
    if not re.fullmatch(r"[0-9]{1,3}", value.strip()) or not 1 <= int(value) <= MAX_PAGE_SIZE:
        raise FilterError({"limit": f"a number from 1 to {MAX_PAGE_SIZE}"})
    return int(value)


# --- queries --------------------------------------------------------------------------------------


def local_day_start(day: date) -> datetime:
    """The UTC moment a day begins in Asia/Ho_Chi_Minh."""
    return datetime.combine(day, time.min, tzinfo=LOCAL_TZ).astimezone(UTC)


def filtered(filters: AuditFilters) -> Select:
    """SELECT AuditEvent with the filters applied, unordered."""
    query = select(AuditEvent)
    # The user's and the tasks' ids are looked up first: a constant lets the planner pick its index.
    if filters.actor:
        user_id = db.session.scalar(select(User.id).where(User.username == filters.actor))
        query = query.where(AuditEvent.actor_id == user_id if user_id is not None else false())
    if filters.unit:
        query = query.where(AuditEvent.actor_unit_code == filters.unit)
    if filters.task:
        task_ids = list(db.session.scalars(select(Task.id).where(_task_clause(filters.task))))
        query = query.where(_one_of(AuditEvent.task_id, task_ids))
    if filters.actions:
        query = query.where(AuditEvent.action.in_(filters.actions))
    if filters.since:
        query = query.where(AuditEvent.at >= local_day_start(filters.since))
    if filters.until:
        query = query.where(AuditEvent.at < local_day_start(filters.until + timedelta(days=1)))
    return query


def _one_of(column, values: list):
    if not values:
        return false()
    return column == values[0] if len(values) == 1 else column.in_(values)


def _after(query: Select, position: tuple[datetime, int] | None) -> Select:
    if position is None:
        return query
    at, event_id = position
    # After (at, id) in the (..., at, id) indexes: PostgreSQL seeks to the row comparison itself, so a
    # cursor inside a run of rows of one instant does not read the run's newer rows again; `at <= :at`
    # is the part SQLite's planner seeks on (it filters the rest of the comparison).
    return query.where(AuditEvent.at <= at, tuple_(AuditEvent.at, AuditEvent.id) < (at, event_id))


def _newest_first(query: Select) -> Select:
    return query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


def _before(query: Select, position: tuple[datetime, int]) -> Select:
    at, event_id = position
    return query.where(AuditEvent.at >= at, tuple_(AuditEvent.at, AuditEvent.id) > (at, event_id))


@dataclass
class AuditPage:
    events: list[AuditEvent]
    next_cursor: str | None  # the page after this one (older rows), None on the last page
    previous_cursor: str | None = None  # the page before it (newer rows), None on the first page


def audit_page(
    filters: AuditFilters, cursor: str | None = None, limit: int = PAGE_SIZE, before: str | None = None
) -> AuditPage:
    """One page, newest first: after the `cursor` row (the next page), or the `limit` rows just newer
    than the `before` row (the previous page: read oldest first, then turned). Raises FilterError for
    a bad cursor, or for both at once."""
    if cursor and before:
        raise FilterError({"before": "give either cursor or before, not both"})
    if before:
        newer = _before(filtered(filters), decode_cursor(before, "before"))
        events = list(db.session.scalars(newer.order_by(AuditEvent.at, AuditEvent.id).limit(limit + 1)))
        more_newer = len(events) > limit
        events = events[:limit][::-1]
        # older rows follow: at least the `before` row itself
        return AuditPage(
            events,
            encode_cursor(events[-1]) if events else None,
            encode_cursor(events[0]) if more_newer and events else None,
        )
    position = decode_cursor(cursor) if cursor else None
    query = _newest_first(_after(filtered(filters), position)).limit(limit + 1)
    events = list(db.session.scalars(query))
    more = len(events) > limit
    events = events[:limit]
    # after a cursor, newer rows come before this page: at least the cursor's own row
    previous = encode_cursor(events[0]) if position is not None and events else None
    return AuditPage(events, encode_cursor(events[-1]) if more and events else None, previous)


def newest_id() -> int:
    """The id of the latest row: an export reads up to it, so its own audit row stays out of it."""
    return db.session.scalar(select(func.max(AuditEvent.id))) or 0


def count_upto(filters: AuditFilters, upto_id: int, cap: int) -> int:
    """How many rows (at most `cap`) match, among those with id <= upto_id."""
    ids = filtered(filters).where(AuditEvent.id <= upto_id).with_only_columns(AuditEvent.id).limit(cap)
    return db.session.scalar(select(func.count()).select_from(ids.subquery()))


def iter_events(
    filters: AuditFilters, upto_id: int, cap: int, batch: int = 1000
) -> Iterator[list[AuditEvent]]:
    """The matching rows with id <= upto_id, newest first, at most `cap`, in batches (keyset, not OFFSET)."""
    position, left = None, cap
    base = filtered(filters).where(AuditEvent.id <= upto_id)
    while left > 0:
        size = min(batch, left)
        events = list(db.session.scalars(_newest_first(_after(base, position)).limit(size)))
        if not events:
            return
        yield events
        left -= len(events)
        if len(events) < size:
            return
        position = (as_utc(events[-1].at), events[-1].id)  # the session holds rows weakly: memory stays flat


SUGGESTIONS = 20  # at most this many people or units offered for what has been typed
SUGGESTION_FIELDS = ("actor", "unit")


def suggestions(field: str, typed: str, limit: int = SUGGESTIONS) -> list[tuple[str, str]]:
    """(value, label) of the people (`actor`: username, "Full name · Unit") or units (`unit`: code, name)
    whose username/code starts with, or whose name contains, what was typed, case and diacritics ignored
    ("dang" finds "Đặng"): at most `limit`, so the page never lists every account (2,000 in a province)."""
    wanted = folded(typed)
    if not wanted:
        return []
    if field == "actor":
        query = (
            select(User.username, User.full_name, Unit.name)
            .outerjoin(Unit, User.unit_id == Unit.id)
            .order_by(User.full_name, User.username)
        )
        people = db.session.execute(query)
        found = [
            (username, _person(name, unit))
            for username, name, unit in people
            if folded(username).startswith(wanted) or wanted in folded(name)
        ]
        return found[:limit]
    query = select(Unit.code, Unit.name).where(Unit.id.in_(select(User.unit_id))).order_by(Unit.name)
    units = db.session.execute(query)
    found = [
        (code, name) for code, name in units if folded(code).startswith(wanted) or wanted in folded(name)
    ]
    return found[:limit]


def chosen_labels(filters: AuditFilters) -> dict[str, str]:
    """What the page says beside the chosen person and unit ("Full name · Unit", the unit's name): one
    lookup each, by username and by code."""
    labels = {}
    if filters.actor:
        query = (
            select(User.full_name, Unit.name)
            .outerjoin(Unit, User.unit_id == Unit.id)
            .where(User.username == filters.actor)
        )
        row = db.session.execute(query).first()
        if row is not None:
            labels["actor"] = _person(*row)
    if filters.unit:
        name = db.session.scalar(select(Unit.name).where(Unit.code == filters.unit))
        if name is not None:
            labels["unit"] = name
    return labels


def _person(full_name: str, unit_name: str | None) -> str:
    return f"{full_name} · {unit_name}" if unit_name else full_name
