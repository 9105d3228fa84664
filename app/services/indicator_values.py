"""Recording the actual values of the plan's indicators (chỉ tiêu) and where each one stands.

Who records: the specialists and unit heads of the indicator's responsible unit (or of one of its
sub-units) — when the plan names none, of the plan's monitoring unit (reporting.monitoring, Phòng CNTT
in the demo) — and leaders and admins. Nobody else; supervisors read only.

What: `period` "YYYY" (a year), "YYYY-Qn" (a quarter) or "YYYY-MM" (a month), from 2000 to the
indicator's horizon year and begun by today; `value` a number as Vietnamese write it ("2,5", "1.000",
"55%") for a measurable target (a rank for a ranking: a whole number from 1), free text for a
qualitative one; `note` and `evidence` (a document number or a link) optional. Every entry is kept;
the current value is the one of the latest period, and of that period the one entered last.

Errors change nothing: NotAllowed 403; InvalidData 422 with details per field. An entry is audited as
`indicator.value_recorded` in the same transaction.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import groupby

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Indicator, IndicatorValue, Plan, Role, Unit, UnitKind, User
from app.services.clock import local_today, utcnow
from app.services.indicator_targets import RANK, Target, as_number, compare, parse_target
from workflows import audit
from workflows.errors import InvalidData, NotAllowed

VALUE_RECORDED = audit.Action.INDICATOR_VALUE_RECORDED
RECORDING_ROLES = (Role.SPECIALIST, Role.UNIT_HEAD)
MAX_VALUE_TEXT = 500
MAX_NOTE = 4000
MAX_EVIDENCE = 1000
MAX_ABS_VALUE = Decimal(10) ** 14  # Numeric(20, 6)
FIRST_YEAR = 2000
PERIOD_RE = re.compile(r"^(?P<year>[0-9]{4})(?:-(?:Q(?P<quarter>[1-4])|(?P<month>0[1-9]|1[0-2])))?$")


@dataclass(frozen=True)
class IndicatorRow:
    """One indicator as the pages show it: its target as read, current value and status."""

    indicator: Indicator
    target: Target
    current: IndicatorValue | None
    status: str | None  # None: no value yet


def target_of(indicator: Indicator) -> Target:
    return parse_target(indicator.target, indicator.unit_of_measure)


def monitoring_unit(plan: Plan) -> Unit | None:
    """The unit the plan charges with monitoring it (reporting.monitoring.unit)."""
    monitoring = (plan.reporting_rules or {}).get("monitoring") or {}
    code = (monitoring.get("unit") or {}).get("code") if isinstance(monitoring, dict) else None
    if not isinstance(code, str):
        return None
    return db.session.scalar(select(Unit).where(Unit.code == code))


def responsible_unit(indicator: Indicator) -> Unit | None:
    return indicator.responsible_unit or monitoring_unit(indicator.plan)


def may_record(user: User, indicator: Indicator) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.active:
        return False
    if user.has_role(Role.LEADER, Role.ADMIN):
        return True
    unit = responsible_unit(indicator)
    if unit is None or not user.has_role(*RECORDING_ROLES):
        return False
    mine = user.unit
    return mine.id == unit.id or (mine.kind == UnitKind.SUB_UNIT and mine.parent_id == unit.id)


def period_bounds(period: str) -> tuple[date, date]:
    """First and last day of "YYYY", "YYYY-Qn" or "YYYY-MM"; ValueError otherwise."""
    match = PERIOD_RE.match(period) if isinstance(period, str) else None
    if not match:
        raise ValueError(period)
    year = int(match["year"])
    if match["quarter"]:
        first_month, last_month = 3 * int(match["quarter"]) - 2, 3 * int(match["quarter"])
    elif match["month"]:
        first_month = last_month = int(match["month"])
    else:
        first_month, last_month = 1, 12
    last_day = calendar.monthrange(year, last_month)[1]
    return date(year, first_month, 1), date(year, last_month, last_day)


def _period_error(indicator: Indicator, period: object, today: date) -> str | None:
    if not isinstance(period, str) or not period.strip():
        return "required: a year YYYY, a quarter YYYY-Qn or a month YYYY-MM"
    try:
        start, _ = period_bounds(period.strip())
    except ValueError:
        return "must be a year YYYY, a quarter YYYY-Qn or a month YYYY-MM"
    if not FIRST_YEAR <= start.year <= indicator.horizon:
        return f"the year must be from {FIRST_YEAR} to the indicator's horizon {indicator.horizon}"
    if start > today:
        return "this period has not begun yet"
    return None


def _read_value(target: Target, value: object) -> tuple[Decimal | None, str, str | None]:
    """(number, text as entered, problem)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        return None, "", "required: a number, or a text for a qualitative target"
    text = value.strip() if isinstance(value, str) else str(value)
    if not text:
        return None, "", "required: a number, or a text for a qualitative target"
    if len(text) > MAX_VALUE_TEXT:
        return None, text, f"at most {MAX_VALUE_TEXT} characters"
    if not target.measurable:
        return None, text, None
    number = as_number(value)
    if number is None:
        return None, text, "must be a number, e.g. 55 or 2,5"
    if abs(number) >= MAX_ABS_VALUE:
        return None, text, "too large"
    if target.kind == RANK and (number < 1 or number != number.to_integral_value()):
        return None, text, "a rank must be a whole number from 1"
    return number.quantize(Decimal("0.000001")), text, None


def _optional_text(value: object, limit: int) -> tuple[str | None, str | None]:
    if value is None:
        return None, None
    if not isinstance(value, str):
        return None, "must be a text"
    text = value.strip()
    if len(text) > limit:
        return None, f"at most {limit} characters"
    return text or None, None


def record_value(
    indicator: Indicator,
    user: User,
    period: object,
    value: object,
    note: object = None,
    evidence: object = None,
) -> IndicatorValue:
    """Record a value of `indicator` for `period` as `user`, audited, in one commit; or raise
    (NotAllowed 403, InvalidData 422) and change nothing."""
    if not may_record(user, indicator):
        raise NotAllowed(
            "only the responsible unit's specialists and heads, leaders and admins record values"
        )
    errors: dict[str, str] = {}
    if problem := _period_error(indicator, period, local_today()):
        errors["period"] = problem
    number, text, problem = _read_value(target_of(indicator), value)
    if problem:
        errors["value"] = problem
    note_text, problem = _optional_text(note, MAX_NOTE)
    if problem:
        errors["note"] = problem
    evidence_text, problem = _optional_text(evidence, MAX_EVIDENCE)
    if problem:
        errors["evidence"] = problem
    if errors:
        raise InvalidData("invalid indicator value", errors)
    period = period.strip()
    row = IndicatorValue(
        indicator=indicator,
        period=period,
        period_end=period_bounds(period)[1],
        value=number,
        value_text=text,
        note=note_text,
        evidence=evidence_text,
        entered_by=user,
        entered_at=utcnow(),
    )
    try:
        db.session.add(row)
        db.session.flush()
        data = {
            "indicator_id": indicator.id,
            "indicator": f"{indicator.horizon}-{indicator.number}",
            "value_id": row.id,
            "period": period,
            "value": text,
            "number": str(number) if number is not None else None,
            "evidence": evidence_text,
        }
        audit.record(VALUE_RECORDED, user, None, comment=note_text, data=data)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return row


def _newest_first():
    return (IndicatorValue.period_end.desc(), IndicatorValue.entered_at.desc(), IndicatorValue.id.desc())


def history(indicator: Indicator) -> list[IndicatorValue]:
    """Every entry, latest period first; within a period the last entered first."""
    query = (
        select(IndicatorValue).where(IndicatorValue.indicator_id == indicator.id).order_by(*_newest_first())
    )
    return list(db.session.scalars(query))


def current_value(indicator: Indicator) -> IndicatorValue | None:
    rows = history(indicator)
    return rows[0] if rows else None


def series(indicator: Indicator) -> list[IndicatorValue]:
    """One value per period (the last entered), oldest period first: what the chart draws."""
    rows = reversed(history(indicator))
    by_period: dict[str, IndicatorValue] = {}
    for row in rows:
        by_period[row.period] = row  # later entries of a period replace earlier ones
    return sorted(by_period.values(), key=lambda row: row.period_end)


def horizon_fraction(indicator: Indicator, today: date) -> float:
    """The share of the time from the plan's issue to the end of the horizon year that has passed."""
    end = date(indicator.horizon, 12, 31)
    start = indicator.plan.issued_on or today
    if today > end:
        return 1.0 + (today - end).days / 365
    if start >= end:
        return 0.0
    return max(0.0, (today - start).days / (end - start).days)


def status_of(indicator: Indicator, current: IndicatorValue | None, today: date) -> str | None:
    """achieved / on_track / behind / not_measurable, or None without a value."""
    if current is None:
        return None
    value = current.value if current.value is not None else current.value_text
    return compare(target_of(indicator), value, horizon_fraction(indicator, today))


def indicator_row(indicator: Indicator, today: date) -> IndicatorRow:
    current = current_value(indicator)
    return IndicatorRow(indicator, target_of(indicator), current, status_of(indicator, current, today))


def plan_rows(plan: Plan, today: date) -> list[tuple[int, list[IndicatorRow]]]:
    """The plan's indicators grouped by horizon (nearest first, document order), each with where it stands."""
    indicators = list(
        db.session.scalars(
            select(Indicator)
            .where(Indicator.plan_id == plan.id)
            .options(selectinload(Indicator.responsible_unit))  # the page names each one's unit
            .order_by(Indicator.horizon, Indicator.position)
        )
    )
    ids = [indicator.id for indicator in indicators]
    latest: dict[int, IndicatorValue] = {}
    query = select(IndicatorValue).where(IndicatorValue.indicator_id.in_(ids)).order_by(*_newest_first())
    for row in db.session.scalars(query):
        latest.setdefault(row.indicator_id, row)
    rows = [
        IndicatorRow(i, target_of(i), latest.get(i.id), status_of(i, latest.get(i.id), today))
        for i in indicators
    ]
    return [(horizon, list(group)) for horizon, group in groupby(rows, lambda row: row.indicator.horizon)]


def chart_data(indicator: Indicator) -> dict:
    """What app/static/js/indicator-chart.js draws: one point per period and the target as a line or
    a band (a ranking's axis is reversed: a better rank is higher)."""
    target = target_of(indicator)
    points = [row for row in series(indicator) if row.value is not None]
    return {
        "labels": [row.period for row in points],
        "values": [float(row.value) for row in points],
        "target": target.as_json(),
        "reverse": target.kind == RANK,
    }
