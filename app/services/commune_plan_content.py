"""A commune plan's content as the API body and the web form give it, read and applied.

    {"sections": [{"section_id", "content"}],
     "targets": [{"indicator_id", "target", "note"}],
     "tasks": [{"framework_task_id", "title", "lead_office", "coordinating_offices", "expected_result",
                "budget_million_vnd", "completion_time"}]}
Any of the three: given sections and targets change (by id), given tasks replace the plan's tasks (in
order). Offices are the unit codes of the commune's own offices. Nothing changes unless all of it is valid.
"""

from __future__ import annotations

from typing import Any

from app.models import Unit
from app.models.commune_plans import CommunePlan, CommunePlanTask
from app.services import commune_plan_values as values
from workflows.errors import InvalidData

CONTENT_FIELDS = ("sections", "targets", "tasks")
TASK_FIELDS = (
    "framework_task_id",
    "title",
    "lead_office",
    "coordinating_offices",
    "expected_result",
    "budget_million_vnd",
    "completion_time",
)
MAX_TASKS = 200
SECTION_TEXT = 20000


def read_content(plan: CommunePlan, payload: Any, offices: dict[str, Unit]) -> dict[str, list]:
    """The payload's parts, checked whole: InvalidData (details per field path) or the parts to apply."""
    if not isinstance(payload, dict):
        raise InvalidData("the plan's content must be an object", {"body": values.NOT_OBJECT})
    errors: dict[str, str] = {}
    values.unknown_fields(payload, CONTENT_FIELDS, "", errors)
    parts: dict[str, list] = {}
    framework = plan.framework
    sections = values.objects(payload.get("sections"), "sections", errors, max_items=len(framework.sections))
    if sections is not None:
        parts["sections"] = _read_keyed(
            sections, "sections", "section_id", framework.sections, errors, _section
        )
    targets = values.objects(payload.get("targets"), "targets", errors, max_items=len(framework.indicators))
    if targets is not None:
        parts["targets"] = _read_keyed(
            targets, "targets", "indicator_id", framework.indicators, errors, _target
        )
    tasks = values.objects(payload.get("tasks"), "tasks", errors, max_items=MAX_TASKS)
    if tasks is not None:
        known = {t.id for t in framework.tasks}
        parts["tasks"] = [
            _task(entry, f"tasks[{i}]", offices, known, errors) for i, entry in enumerate(tasks)
        ]
    if errors:
        raise InvalidData("the plan's content is not valid", errors)
    return parts


def _read_keyed(entries, name, key, rows, errors, read) -> list[tuple[int, dict]]:
    known, seen, found = {row.id for row in rows}, set(), []
    for i, entry in enumerate(entries):
        path = f"{name}[{i}]"
        ref = entry.get(key)
        if isinstance(ref, bool) or not isinstance(ref, int) or ref not in known:
            errors[f"{path}.{key}"] = f"{values.UNKNOWN} {key}"
            continue
        if ref in seen:
            errors[f"{path}.{key}"] = values.DUPLICATE
            continue
        seen.add(ref)
        found.append((ref, read(entry, path, errors)))
    return found


def _section(entry: dict, path: str, errors: dict[str, str]) -> dict:
    values.unknown_fields(entry, ("section_id", "content"), path, errors)
    return {
        "content": values.text(entry.get("content"), f"{path}.content", errors, max_length=SECTION_TEXT) or ""
    }


def _target(entry: dict, path: str, errors: dict[str, str]) -> dict:
    values.unknown_fields(entry, ("indicator_id", "target", "note"), path, errors)
    return {
        "target": values.number(entry.get("target"), f"{path}.target", errors),
        "note": values.text(entry.get("note"), f"{path}.note", errors, max_length=1000),
    }


def _task(entry: dict, path: str, offices: dict[str, Unit], known: set[int], errors: dict[str, str]) -> dict:
    values.unknown_fields(entry, TASK_FIELDS, path, errors)
    suggestion = entry.get("framework_task_id")
    if suggestion is not None and (
        isinstance(suggestion, bool) or not isinstance(suggestion, int) or suggestion not in known
    ):
        errors[f"{path}.framework_task_id"] = f"{values.UNKNOWN} framework_task_id"
        suggestion = None
    lead_code = values.text(entry.get("lead_office"), f"{path}.lead_office", errors, max_length=40)
    if lead_code is not None and lead_code not in offices:
        errors[f"{path}.lead_office"] = f"{values.UNKNOWN} office of the commune"
    coordinating = values.strings(
        entry.get("coordinating_offices"), f"{path}.coordinating_offices", errors, max_items=20, max_length=40
    )
    if any(code not in offices or code == lead_code for code in coordinating):
        errors[f"{path}.coordinating_offices"] = (
            f"{values.UNKNOWN} office of the commune (or the lead office)"
        )
    return {
        "framework_task_id": suggestion,
        "title": values.text(entry.get("title"), f"{path}.title", errors, required=True, max_length=2000),
        "lead_office": offices.get(lead_code) if lead_code else None,
        "coordinating_offices": coordinating,
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


def apply_content(plan: CommunePlan, parts: dict[str, list]) -> None:
    sections = {row.framework_section_id: row for row in plan.sections}
    for ref, fields in parts.get("sections", []):
        sections[ref].content = fields["content"]
    targets = {row.framework_indicator_id: row for row in plan.targets}
    for ref, fields in parts.get("targets", []):
        targets[ref].target, targets[ref].note = fields["target"], fields["note"]
    if "tasks" in parts:
        rows = plan.tasks
        for position, fields in enumerate(parts["tasks"], start=1):
            row = rows[position - 1] if position <= len(rows) else None
            if row is None:
                row = CommunePlanTask()
                rows.append(row)
            row.position = position
            for name, value in fields.items():
                setattr(row, name, value)
        del rows[len(parts["tasks"]) :]
