"""Plan frameworks and commune plans in the JSON API v1 (app/services/commune_plans.py decides).

- `GET /plan-frameworks` (published ones; drafts too for the department's leaders and admins),
  `POST /plan-frameworks`, `GET|PUT /plan-frameworks/{id}`, `POST /plan-frameworks/{id}/publish`;
- `POST /plan-frameworks/{id}/commune-plans`: the caller's commune starts its plan (a commune specialist),
  201; `GET` the same path: where every commune stands (the department);
- `GET /plan-frameworks/{id}/targets`: the communes' indicator targets (the department);
- `GET|PUT /commune-plans/{id}`: the plan's content; PUT while its drafting step is open, by whoever may
  complete it (409 otherwise). Submitting, approving, returning and acknowledging are the standard
  `POST /work-items/{id}/complete` on the plan's `open_steps`.
Errors: 400 a body that is not a JSON object or has an unknown field, 403, 404, 409, 422 (details per field).
"""

from __future__ import annotations

from typing import Any

from flask.typing import ResponseReturnValue

from app.api import bp
from app.api.auth import current_api_user
from app.api.errors import ApiError
from app.api.routes import json_object
from app.api.serializers import iso_date, iso_timestamp, unit_ref, work_item_json
from app.extensions import db
from app.models import User
from app.models.commune_plans import CommunePlan, PlanFramework
from app.services import commune_plan_access as access
from app.services import commune_plan_overview as overview
from app.services import commune_plans, plan_frameworks
from app.services.commune_plan_content import CONTENT_FIELDS
from app.services.commune_plan_values import as_number
from workflows.guards import may_see


def _framework_or_404(framework_id: int, user: User) -> PlanFramework:
    framework = db.session.get(PlanFramework, framework_id)
    if framework is None or not access.may_read_framework(user, framework):
        raise ApiError(404, f"no plan framework with id {framework_id}")
    return framework


def _plan_or_404(commune_plan_id: int, user: User) -> CommunePlan:
    plan = db.session.get(CommunePlan, commune_plan_id)
    if plan is None:
        raise ApiError(404, f"no commune plan with id {commune_plan_id}")
    if not access.may_read_plan(user, plan):
        raise ApiError(403, "only the commune's people and the department's leaders see this plan")
    return plan


def _checked_body(allowed: tuple[str, ...]) -> dict[str, Any]:
    body = json_object()
    unknown = {name: "unknown field" for name in body if name not in allowed}
    if unknown:
        raise ApiError(400, "invalid fields", unknown)
    return body


def _overseer() -> User:
    user = current_api_user()
    if not access.oversees_communes(user):
        raise ApiError(403, "only the department's leaders, supervisors and admins see every commune")
    return user


def framework_json(framework: PlanFramework, full: bool = True) -> dict[str, Any]:
    found = {
        "id": framework.id,
        "year": framework.year,
        "title": framework.title,
        "status": framework.status,
        "issuer": unit_ref(framework.issuer_unit),
        "submission_due": iso_date(framework.submission_due),
        "published_at": iso_timestamp(framework.published_at),
    }
    if not full:
        return found
    return found | {
        "introduction": framework.introduction,
        "sections": [
            {"id": s.id, "number": s.number, "heading": s.heading, "required_content": s.required_content}
            for s in framework.sections
        ],
        "indicators": [
            {"id": i.id, "name": i.name, "unit_of_measure": i.unit_of_measure, "target": as_number(i.target)}
            for i in framework.indicators
        ],
        "tasks": [
            {
                "id": t.id,
                "title": t.title,
                "lead_office": t.lead_office,
                "coordinating_offices": list(t.coordinating_offices or []),
                "expected_result": t.expected_result,
                "budget_million_vnd": as_number(t.budget_million_vnd),
                "completion_time": t.completion_time,
            }
            for t in framework.tasks
        ],
    }


def commune_plan_json(plan: CommunePlan, user: User) -> dict[str, Any]:
    sections = {row.framework_section_id: row for row in plan.sections}
    targets = {row.framework_indicator_id: row for row in plan.targets}
    framework = plan.framework
    items = [item for item in access.open_items(plan) if may_see(user, item)]
    return {
        "id": plan.id,
        "framework_id": framework.id,
        "commune": unit_ref(plan.commune),
        "status": plan.status,
        "task_id": plan.task_id,
        "editable": access.may_edit_plan(user, plan),
        "created_at": iso_timestamp(plan.created_at),
        "updated_at": iso_timestamp(plan.updated_at),
        "offices": [unit_ref(office) for office in commune_plans.commune_offices(plan.commune)],
        "sections": [
            {
                "section_id": s.id,
                "number": s.number,
                "heading": s.heading,
                "required_content": s.required_content,
                "content": sections[s.id].content if s.id in sections else "",
            }
            for s in framework.sections
        ],
        "targets": [
            {
                "indicator_id": i.id,
                "name": i.name,
                "unit_of_measure": i.unit_of_measure,
                "framework_target": as_number(i.target),
                "target": as_number(targets[i.id].target) if i.id in targets else None,
                "note": targets[i.id].note if i.id in targets else None,
            }
            for i in framework.indicators
        ],
        "tasks": [
            {
                "id": t.id,
                "framework_task_id": t.framework_task_id,
                "title": t.title,
                "lead_office": t.lead_office.code if t.lead_office else None,
                "coordinating_offices": list(t.coordinating_offices or []),
                "expected_result": t.expected_result,
                "budget_million_vnd": as_number(t.budget_million_vnd),
                "completion_time": t.completion_time,
            }
            for t in plan.tasks
        ],
        "missing": commune_plans.missing_parts(plan),
        "open_steps": [work_item_json(item, user) for item in items],
    }


@bp.get("/plan-frameworks")
def list_plan_frameworks() -> ResponseReturnValue:
    user = current_api_user()
    return {"items": [framework_json(f, full=False) for f in plan_frameworks.frameworks_for(user)]}


@bp.post("/plan-frameworks")
def create_plan_framework() -> ResponseReturnValue:
    body = _checked_body(plan_frameworks.FIELDS)
    framework = plan_frameworks.create_framework(current_api_user(), body)
    return framework_json(framework), 201


@bp.get("/plan-frameworks/<int:framework_id>")
def get_plan_framework(framework_id: int) -> ResponseReturnValue:
    return framework_json(_framework_or_404(framework_id, current_api_user()))


@bp.put("/plan-frameworks/<int:framework_id>")
def update_plan_framework(framework_id: int) -> ResponseReturnValue:
    user = current_api_user()
    framework = _framework_or_404(framework_id, user)
    body = _checked_body(plan_frameworks.FIELDS)
    return framework_json(plan_frameworks.update_framework(framework, user, body))


@bp.post("/plan-frameworks/<int:framework_id>/publish")
def publish_plan_framework(framework_id: int) -> ResponseReturnValue:
    user = current_api_user()
    framework = _framework_or_404(framework_id, user)
    return framework_json(plan_frameworks.publish_framework(framework, user))


@bp.post("/plan-frameworks/<int:framework_id>/commune-plans")
def create_commune_plan(framework_id: int) -> ResponseReturnValue:
    user = current_api_user()
    plan = commune_plans.create_commune_plan(_framework_or_404(framework_id, user), user)
    return commune_plan_json(plan, user), 201


@bp.get("/plan-frameworks/<int:framework_id>/commune-plans")
def framework_submissions(framework_id: int) -> ResponseReturnValue:
    """Every commune with its plan's status and dates."""
    user = _overseer()
    rows = overview.submission_overview(_framework_or_404(framework_id, user))
    return {
        "items": [
            {
                "commune": unit_ref(row.commune),
                "commune_plan_id": row.plan.id if row.plan else None,
                "status": row.status,
                "created_at": iso_timestamp(row.plan.created_at) if row.plan else None,
                "submitted_at": iso_timestamp(row.submitted_at),
                "acknowledged_at": iso_timestamp(row.acknowledged_at),
                "returns": row.returns,
            }
            for row in rows
        ]
    }


@bp.get("/plan-frameworks/<int:framework_id>/targets")
def framework_targets(framework_id: int) -> ResponseReturnValue:
    """Communes × indicators, with the department's target of each indicator."""
    user = _overseer()
    table = overview.targets_table(_framework_or_404(framework_id, user))
    return {
        "indicators": [
            {"id": i.id, "name": i.name, "unit_of_measure": i.unit_of_measure, "target": as_number(i.target)}
            for i in table.indicators
        ],
        "rows": [
            {
                "commune": unit_ref(row.commune),
                "status": row.status,
                "targets": [as_number(value) for value in row.targets],
            }
            for row in table.rows
        ],
    }


@bp.get("/commune-plans/<int:commune_plan_id>")
def get_commune_plan(commune_plan_id: int) -> ResponseReturnValue:
    user = current_api_user()
    return commune_plan_json(_plan_or_404(commune_plan_id, user), user)


@bp.put("/commune-plans/<int:commune_plan_id>")
def update_commune_plan(commune_plan_id: int) -> ResponseReturnValue:
    """Any of `sections`, `targets`, `tasks` (see app/services/commune_plans.py)."""
    user = current_api_user()
    plan = _plan_or_404(commune_plan_id, user)
    body = _checked_body(CONTENT_FIELDS)
    return commune_plan_json(commune_plans.update_content(plan, user, body), user)
