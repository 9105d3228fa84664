"""The plan's indicators (chỉ tiêu) in the JSON API v1: where each stands, and recording a value.

`GET /plans/{id}/indicators` is open to every signed-in caller. `POST /indicators/{id}/values` follows
app.services.indicator_values.record_value: 403 for anyone but the responsible unit's specialists and
heads, leaders and admins; 400 a body that is not a JSON object or has an unknown field; 422 a wrong
value (details per field). A refusal changes nothing.
"""

from __future__ import annotations

from typing import Any

from flask.typing import ResponseReturnValue

from app.api import bp
from app.api.auth import current_api_user
from app.api.errors import ApiError
from app.api.routes import plan_or_404
from app.api.serializers import iso_timestamp, unit_ref
from app.api.workflow_routes import optional_json_object
from app.extensions import db
from app.models import Indicator, IndicatorValue
from app.services import indicator_values
from app.services.clock import local_today
from app.services.indicator_values import IndicatorRow

FIELDS = ("period", "value", "note", "evidence")


def indicator_or_404(indicator_id: int) -> Indicator:
    indicator = db.session.get(Indicator, indicator_id)
    if indicator is None:
        raise ApiError(404, f"no indicator with id {indicator_id}")
    return indicator


def value_json(row: IndicatorValue | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "id": row.id,
        "period": row.period,
        "value": float(row.value) if row.value is not None else None,
        "value_text": row.value_text,
        "note": row.note,
        "evidence": row.evidence,
        "entered_by": {"username": row.entered_by.username, "full_name": row.entered_by.full_name}
        if row.entered_by
        else None,
        "entered_at": iso_timestamp(row.entered_at),
    }


def indicator_json(row: IndicatorRow) -> dict[str, Any]:
    indicator = row.indicator
    return {
        "id": indicator.id,
        "horizon": indicator.horizon,
        "number": indicator.number,
        "name": indicator.name,
        "unit_of_measure": indicator.unit_of_measure,
        "target": indicator.target,
        "target_parsed": row.target.as_json(),
        "responsible_unit": unit_ref(indicator_values.responsible_unit(indicator)),
        "current": value_json(row.current),
        "status": row.status,
    }


@bp.get("/plans/<int:plan_id>/indicators")
def list_plan_indicators(plan_id: int) -> ResponseReturnValue:
    """Every indicator of the plan, nearest horizon first, in document order, with where it stands."""
    plan = plan_or_404(plan_id)
    groups = indicator_values.plan_rows(plan, local_today())
    return {"items": [indicator_json(row) for _, rows in groups for row in rows]}


@bp.post("/indicators/<int:indicator_id>/values")
def record_indicator_value(indicator_id: int) -> ResponseReturnValue:
    """`{"period", "value", "note"?, "evidence"?}` → 201 `{"value": entry, "indicator": indicator}`."""
    indicator = indicator_or_404(indicator_id)
    user = current_api_user()
    if not indicator_values.may_record(user, indicator):
        raise ApiError(
            403, "only the responsible unit's specialists and heads, leaders and admins record values"
        )
    body = optional_json_object()
    unknown = {name: "unknown field" for name in body if name not in FIELDS}
    if unknown:
        raise ApiError(400, "invalid fields", unknown)
    row = indicator_values.record_value(
        indicator, user, body.get("period"), body.get("value"), body.get("note"), body.get("evidence")
    )
    current = indicator_values.indicator_row(indicator, local_today())
    return {"value": value_json(row), "indicator": indicator_json(current)}, 201
