"""The department's plan frameworks (khung kế hoạch cấp xã): create, edit while a draft, publish.

A framework is edited as one payload (the API body and the web form give the same shape):
    {"title", "year", "introduction", "submission_due": "YYYY-MM-DD",
     "sections": [{"number", "heading", "required_content"}],
     "indicators": [{"name", "unit_of_measure", "target"}],
     "tasks": [{"title", "lead_office", "coordinating_offices": [...], "expected_result",
                "budget_million_vnd", "completion_time"}]}
Lists replace what the framework had (in the order given). Only drafts change; publishing needs a
submission deadline, at least one section and one indicator, and makes it readable by every commune.
Every change is audited (`framework.created`, `framework.updated`, `framework.published`).
Services flush and commit; a refusal (NotAllowed 403, Conflict 409, InvalidData 422) changes nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import Unit, UnitKind, User
from app.models.commune_plans import (
    FrameworkIndicator,
    FrameworkSection,
    FrameworkStatus,
    FrameworkTask,
    PlanFramework,
)
from app.services import commune_plan_values as values
from app.services.clock import utcnow
from app.services.commune_plan_access import may_manage_frameworks
from workflows import audit
from workflows.errors import Conflict, InvalidData, NotAllowed

FRAMEWORK_CREATED = "framework.created"
FRAMEWORK_UPDATED = "framework.updated"
FRAMEWORK_PUBLISHED = "framework.published"

FIELDS = ("title", "year", "introduction", "submission_due", "sections", "indicators", "tasks")
SECTION_FIELDS = ("number", "heading", "required_content")
INDICATOR_FIELDS = ("name", "unit_of_measure", "target")
TASK_FIELDS = (
    "title",
    "lead_office",
    "coordinating_offices",
    "expected_result",
    "budget_million_vnd",
    "completion_time",
)
MAX_ROWS = 200
LONG_TEXT = 10000


def frameworks_for(user: User) -> list[PlanFramework]:
    """Newest year first: every framework for the department's managers, published ones for others."""
    query = select(PlanFramework).order_by(PlanFramework.year.desc(), PlanFramework.id.desc())
    if not may_manage_frameworks(user):
        query = query.where(PlanFramework.status == FrameworkStatus.PUBLISHED)
    return list(db.session.scalars(query))


def department_unit() -> Unit | None:
    return db.session.scalar(select(Unit).where(Unit.kind == UnitKind.DEPARTMENT).order_by(Unit.id).limit(1))


def create_framework(user: User, payload: dict[str, Any]) -> PlanFramework:
    if not may_manage_frameworks(user):
        raise NotAllowed("only the department's leaders and admins create frameworks")
    issuer = department_unit()
    if issuer is None:
        raise Conflict("there is no department unit to issue the framework")
    framework = PlanFramework(issuer_unit=issuer, status=FrameworkStatus.DRAFT, created_by_id=user.id)
    apply_payload(framework, payload, creating=True)
    db.session.add(framework)
    db.session.flush()
    audit.record(FRAMEWORK_CREATED, user, None, data=_audit_data(framework))
    db.session.commit()
    return framework


def update_framework(framework: PlanFramework, user: User, payload: dict[str, Any]) -> PlanFramework:
    if not may_manage_frameworks(user):
        raise NotAllowed("only the department's leaders and admins edit frameworks")
    if framework.is_published:
        raise Conflict("a published framework no longer changes")
    apply_payload(framework, payload, creating=False)
    db.session.flush()
    audit.record(FRAMEWORK_UPDATED, user, None, data=_audit_data(framework) | {"fields": sorted(payload)})
    db.session.commit()
    return framework


def publish_framework(framework: PlanFramework, user: User) -> PlanFramework:
    if not may_manage_frameworks(user):
        raise NotAllowed("only the department's leaders and admins publish frameworks")
    if framework.is_published:
        raise Conflict("the framework is already published")
    missing = publish_problems(framework)
    if missing:
        raise InvalidData("the framework is not ready to publish", missing)
    framework.status = FrameworkStatus.PUBLISHED
    framework.published_at, framework.published_by_id = utcnow(), user.id
    db.session.flush()
    audit.record(
        FRAMEWORK_PUBLISHED, user, None, from_state="draft", to_state="published", data=_audit_data(framework)
    )
    db.session.commit()
    return framework


def publish_problems(framework: PlanFramework) -> dict[str, str]:
    problems = {}
    if framework.submission_due is None:
        problems["submission_due"] = values.REQUIRED
    if not framework.sections:
        problems["sections"] = f"{values.REQUIRED}: at least one section"
    if not framework.indicators:
        problems["indicators"] = f"{values.REQUIRED}: at least one indicator"
    return problems


def _audit_data(framework: PlanFramework) -> dict[str, Any]:
    return {"framework_id": framework.id, "year": framework.year, "title": framework.title}


# --- reading and applying a payload ----------------------------------------------------------------


def apply_payload(framework: PlanFramework, payload: Any, *, creating: bool) -> None:
    """Check the whole payload first, then change the framework (nothing changes on an error)."""
    if not isinstance(payload, dict):
        raise InvalidData("the framework must be an object", {"body": values.NOT_OBJECT})
    errors: dict[str, str] = {}
    values.unknown_fields(payload, FIELDS, "", errors)
    scalars = _scalars(payload, errors, creating=creating)
    sections = _rows(payload, "sections", SECTION_FIELDS, _section, errors)
    indicators = _rows(payload, "indicators", INDICATOR_FIELDS, _indicator, errors)
    tasks = _rows(payload, "tasks", TASK_FIELDS, _task, errors)
    if errors:
        raise InvalidData("the framework is not valid", errors)
    for name, value in scalars.items():
        setattr(framework, name, value)
    _replace(framework.sections, sections, FrameworkSection)
    _replace(framework.indicators, indicators, FrameworkIndicator)
    _replace(framework.tasks, tasks, FrameworkTask)


def _scalars(payload: dict, errors: dict[str, str], *, creating: bool) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if creating or "title" in payload:
        found["title"] = values.text(payload.get("title"), "title", errors, required=True, max_length=1000)
    if creating or "year" in payload:
        found["year"] = values.integer(payload.get("year"), "year", errors, low=2000, high=2100)
    if "introduction" in payload:
        found["introduction"] = values.text(
            payload["introduction"], "introduction", errors, max_length=LONG_TEXT
        )
    if "submission_due" in payload:
        found["submission_due"] = values.iso_date(payload["submission_due"], "submission_due", errors)
    return found


def _rows(payload: dict, name: str, fields: tuple[str, ...], read, errors: dict[str, str]):
    """The rows of one list of the payload, read by `read`; None when the payload does not give it."""
    entries = values.objects(payload.get(name), name, errors, max_items=MAX_ROWS)
    if entries is None:
        return None
    rows = []
    for i, entry in enumerate(entries):
        path = f"{name}[{i}]"
        values.unknown_fields(entry, fields, path, errors)
        rows.append(read(entry, path, errors))
    return rows


def _section(entry: dict, path: str, errors: dict[str, str]) -> dict[str, Any]:
    return {
        "number": values.text(entry.get("number"), f"{path}.number", errors, required=True, max_length=20),
        "heading": values.text(
            entry.get("heading"), f"{path}.heading", errors, required=True, max_length=1000
        ),
        "required_content": values.text(
            entry.get("required_content"), f"{path}.required_content", errors, max_length=LONG_TEXT
        ),
    }


def _indicator(entry: dict, path: str, errors: dict[str, str]) -> dict[str, Any]:
    return {
        "name": values.text(entry.get("name"), f"{path}.name", errors, required=True, max_length=1000),
        "unit_of_measure": values.text(
            entry.get("unit_of_measure"), f"{path}.unit_of_measure", errors, required=True, max_length=100
        ),
        "target": values.number(entry.get("target"), f"{path}.target", errors, required=True),
    }


def _task(entry: dict, path: str, errors: dict[str, str]) -> dict[str, Any]:
    return {
        "title": values.text(entry.get("title"), f"{path}.title", errors, required=True, max_length=2000),
        "lead_office": values.text(entry.get("lead_office"), f"{path}.lead_office", errors, max_length=300),
        "coordinating_offices": values.strings(
            entry.get("coordinating_offices"),
            f"{path}.coordinating_offices",
            errors,
            max_items=20,
            max_length=300,
        ),
        "expected_result": values.text(
            entry.get("expected_result"), f"{path}.expected_result", errors, max_length=4000
        ),
        "budget_million_vnd": values.number(
            entry.get("budget_million_vnd"), f"{path}.budget_million_vnd", errors
        ),
        "completion_time": values.text(
            entry.get("completion_time"), f"{path}.completion_time", errors, max_length=100
        ),
    }


def _replace(rows: list, new: list[dict] | None, model) -> None:
    """Update the rows in place by position, add the extra ones, drop the rest (None: keep them)."""
    if new is None:
        return
    for position, fields in enumerate(new, start=1):
        if position <= len(rows):
            row = rows[position - 1]
        else:
            row = model()
            rows.append(row)
        row.position = position
        for name, value in fields.items():
            setattr(row, name, value)
    del rows[len(new) :]
