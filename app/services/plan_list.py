"""The plan list, newest first, a page at a time: the web page (/plans) and GET /api/v1/plans.

Plans are ordered by their date of issue, newest first (plans without a date last), then by id, newest
first. A page is found by keyset, not OFFSET: the cursor is the base64 of the last row's date and id, so
any page is an index seek (ix_plans_issued_on_id) whatever the number of plans. The web page also goes
back (`before`, the first row of the page shown) and filters by year of issue and by words of the title
or number. The tasks of the page's plans are counted in one grouped query.

Left out, as everywhere plans are listed: the plans that only hold the commune plans' processes of a
framework (app.services.plan_queries.holding_plan_ids).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, and_, func, or_, select

from app.extensions import db
from app.models import Plan, Task
from app.models.plans import TaskKind
from app.services.plan_queries import PlanRow, holding_plan_ids

WEB_PAGE_SIZE = 20
API_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
SEARCH_MAX = 100
FIRST_YEAR, LAST_YEAR = 1900, 9999
_ID = re.compile(r"[0-9]{1,18}")

Position = tuple[date | None, int]


class PlanListError(ValueError):
    """Parameters that make no page: `details` maps each parameter to what is wrong with it."""

    def __init__(self, details: dict[str, str]):
        super().__init__("invalid parameters")
        self.details = details


@dataclass(frozen=True)
class PlanQuery:
    limit: int = WEB_PAGE_SIZE
    after: Position | None = None
    before: Position | None = None
    year: int | None = None
    search: str | None = None

    def filter_args(self) -> dict[str, str]:
        """The filters that are set, as query arguments (paging links keep them)."""
        args = {"year": str(self.year) if self.year else "", "q": self.search or ""}
        return {key: value for key, value in args.items() if value}


@dataclass
class PlanListPage:
    rows: list[PlanRow]
    next_cursor: str | None
    previous_cursor: str | None


# --- parameters -----------------------------------------------------------------------------------


def encode_cursor(plan: Plan) -> str:
    text = f"{plan.issued_on.isoformat() if plan.issued_on else ''}|{plan.id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, name: str = "cursor") -> Position:
    """The (issued_on, id) a cursor stands for; PlanListError for anything encode_cursor did not make."""
    try:
        if len(cursor) > 60:
            raise ValueError(cursor)
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        day, _, plan_id = raw.partition("|")
        if not _ID.fullmatch(plan_id) or (day and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day)):
            raise ValueError(raw)
        return (date.fromisoformat(day) if day else None), int(plan_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise PlanListError({name: "not a cursor from this list"}) from None


def _limit(value: str | None, default: int) -> int:
    if value is None or not value.strip():
        return default
    if not re.fullmatch(r"[0-9]{1,3}", value.strip()) or not 1 <= int(value) <= MAX_PAGE_SIZE:
        raise PlanListError({"limit": f"a number from 1 to {MAX_PAGE_SIZE}"})
    return int(value)


def _year(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    if not re.fullmatch(r"[0-9]{4}", value.strip()) or not FIRST_YEAR <= int(value) <= LAST_YEAR:
        raise PlanListError({"year": f"a year from {FIRST_YEAR} to {LAST_YEAR}"})
    return int(value)


def api_query(args: Mapping) -> PlanQuery:
    """`limit` (1–200, default 50) and `cursor` (the previous page's `next_cursor`) of GET /api/v1/plans."""
    errors: dict[str, str] = {}
    values: dict = {}
    for name, read in (
        ("limit", lambda: _limit(args.get("limit"), API_PAGE_SIZE)),
        ("after", lambda: _position(args, "cursor")),
    ):
        try:
            values[name] = read()
        except PlanListError as error:
            errors |= error.details
    if errors:
        raise PlanListError(errors)
    return PlanQuery(**values)


def web_query(args: Mapping) -> PlanQuery:
    """The web page's `cursor` (next pages), `before` (previous pages), `year` and `q` (words)."""
    errors: dict[str, str] = {}
    values: dict = {}
    for name, read in (
        ("after", lambda: _position(args, "cursor")),
        ("before", lambda: _position(args, "before")),
        ("year", lambda: _year(args.get("year"))),
    ):
        try:
            values[name] = read()
        except PlanListError as error:
            errors |= error.details
    search = " ".join((args.get("q") or "").split())
    if len(search) > SEARCH_MAX:
        errors["q"] = f"at most {SEARCH_MAX} characters"
    if errors:
        raise PlanListError(errors)
    return PlanQuery(limit=WEB_PAGE_SIZE, search=search or None, **values)


def _position(args: Mapping, name: str) -> Position | None:
    value = (args.get(name) or "").strip()
    return decode_cursor(value, name) if value else None


# --- the page -------------------------------------------------------------------------------------


def _filtered(query: PlanQuery) -> Select:
    plans = select(Plan).where(Plan.id.not_in(holding_plan_ids()))
    if query.year:
        plans = plans.where(Plan.issued_on >= date(query.year, 1, 1))
        if query.year < LAST_YEAR:
            plans = plans.where(Plan.issued_on < date(query.year + 1, 1, 1))
    if query.search:
        pattern = "%" + re.sub(r"([\\%_])", r"\\\1", query.search.lower()) + "%"
        plans = plans.where(
            or_(
                func.lower(Plan.title).like(pattern, escape="\\"),
                func.lower(func.coalesce(Plan.number, "") + Plan.number_symbol).like(pattern, escape="\\"),
            )
        )
    return plans


def _after(position: Position):
    """Rows that come after `position` in the list's order (newest first, undated last)."""
    day, plan_id = position
    if day is None:
        return and_(Plan.issued_on.is_(None), Plan.id < plan_id)
    return or_(Plan.issued_on < day, and_(Plan.issued_on == day, Plan.id < plan_id), Plan.issued_on.is_(None))


def _before(position: Position):
    day, plan_id = position
    if day is None:
        return or_(Plan.issued_on.is_not(None), Plan.id > plan_id)
    return or_(Plan.issued_on > day, and_(Plan.issued_on == day, Plan.id > plan_id))


NEWEST_FIRST = (Plan.issued_on.desc().nulls_last(), Plan.id.desc())
OLDEST_FIRST = (Plan.issued_on.asc().nulls_first(), Plan.id.asc())


def plans_with_task_counts(query: PlanQuery) -> PlanListPage:
    """One page of plans with the number of their own tasks (not the reporting tasks): two statements."""
    plans = _filtered(query)
    if query.before is not None:
        plans = plans.where(_before(query.before)).order_by(*OLDEST_FIRST)
        found = list(db.session.scalars(plans.limit(query.limit + 1)))
        page = list(reversed(found[: query.limit]))
        previous = encode_cursor(page[0]) if len(found) > query.limit else None
        following = encode_cursor(page[-1]) if page else None
    else:
        if query.after is not None:
            plans = plans.where(_after(query.after))
        found = list(db.session.scalars(plans.order_by(*NEWEST_FIRST).limit(query.limit + 1)))
        page = found[: query.limit]
        following = encode_cursor(page[-1]) if len(found) > query.limit else None
        previous = encode_cursor(page[0]) if query.after is not None and page else None
    rows = [PlanRow(plan, count) for plan, count in zip(page, task_counts(page), strict=True)]
    return PlanListPage(rows, following, previous)


def task_counts(plans: list[Plan]) -> list[int]:
    """The number of each plan's own tasks, in one grouped query over the plans' index entries."""
    if not plans:
        return []
    query = (
        select(Task.plan_id, func.count())
        .where(Task.plan_id.in_([plan.id for plan in plans]), Task.kind == TaskKind.PLAN)
        .group_by(Task.plan_id)
    )
    counts = dict(db.session.execute(query).tuples().all())
    return [int(counts.get(plan.id, 0)) for plan in plans]


def newest_plans(limit: int) -> list[Plan]:
    """The department's newest plans (for a choice of plan), without their counts: one statement."""
    return list(db.session.scalars(_filtered(PlanQuery()).order_by(*NEWEST_FIRST).limit(limit)))


def plan_years() -> list[int]:
    """The years from the newest plan's to the oldest's, newest first (the year filter's choices): the
    two ends of the index, in one statement."""
    first = select(func.min(Plan.issued_on)).scalar_subquery()
    last = select(func.max(Plan.issued_on)).scalar_subquery()
    oldest, newest = db.session.execute(select(first, last)).one()
    if oldest is None or newest is None:
        return []
    return list(range(newest.year, oldest.year - 1, -1))
