"""The "5 rõ" principle: every task needs a clear person, work, responsibility, time and result."""

from __future__ import annotations

from app.models import Recurrence, Task
from app.services.deadlines import SELF_TIMED

FIVE_CLEARS = ("person", "work", "responsibility", "time", "result")


def missing_clears(task: Task) -> list[str]:
    """Which of the five are missing, in the principle's order."""
    missing = []
    if task.assignee_id is None:
        missing.append("person")
    if not (task.content or "").strip():
        missing.append("work")
    if task.lead_unit_id is None:
        missing.append("responsibility")
    if task.due_date is None and not any(r in SELF_TIMED for r in task.recurrence or []):
        missing.append("time")
    if not (task.expected_result or "").strip():
        missing.append("result")
    return missing


def waits_for_guidance(task: Task) -> bool:
    return Recurrence.ON_GUIDANCE in (task.recurrence or [])


# The first step of every process asks for the "5 rõ" a task may still lack (workflows/step_data.py):
# clear -> (form field, its JSON Schema). A missing one is required; the person and the result are also
# offered (optional) once set, so whoever starts the work can confirm or correct them. The deadline is
# asked only while missing: changing a set deadline is for unit heads and leaders (task page, PATCH).
# The work (content) comes from the plan; it is asked only if the plan left it empty.
FIRST_STEP_FIELDS = {
    "person": (
        "assignee",
        {
            "type": "string",
            "title": "Người chịu trách nhiệm thực hiện (rõ người)",
            "x-options": "assignable_users",
        },
    ),
    "work": (
        "content",
        {
            "type": "string",
            "title": "Nội dung công việc (rõ việc)",
            "minLength": 1,
            "maxLength": 10000,
            "x-widget": "textarea",
        },
    ),
    "time": ("deadline", {"type": "string", "title": "Thời hạn hoàn thành (rõ tiến độ)", "format": "date"}),
    "result": (
        "expected_result",
        {
            "type": "string",
            "title": "Kết quả, sản phẩm dự kiến (rõ kết quả)",
            "minLength": 1,
            "maxLength": 4000,
            "x-widget": "textarea",
        },
    ),
}
ALWAYS_OFFERED = ("person", "result")


def first_step_fields(task: Task) -> tuple[dict[str, dict], list[str]]:
    """(field -> schema, required fields) the first step of the task's process adds to its form."""
    missing = missing_clears(task)
    fields, required = {}, []
    for clear, (name, schema) in FIRST_STEP_FIELDS.items():
        if clear in missing:
            fields[name] = schema
            required.append(name)
        elif clear in ALWAYS_OFFERED:
            fields[name] = schema
    return fields, required


def with_first_step_fields(schema: dict, task: Task) -> dict:
    """The step's form plus the "5 rõ" fields (a field the form already has is left as the form says,
    but becomes required when its clear is missing)."""
    fields, required = first_step_fields(task)
    properties = dict(schema.get("properties") or {})
    for name, field in fields.items():
        properties.setdefault(name, field)
    return {
        **schema,
        "properties": properties,
        "required": list(dict.fromkeys([*(schema.get("required") or []), *required])),
    }


def first_step_values(task: Task) -> dict[str, str]:
    """What the task already says for those fields (a web form starts from them)."""
    values = {
        "assignee": task.assignee.username if task.assignee is not None else None,
        "expected_result": task.expected_result,
        "content": task.content,
    }
    return {name: value for name, value in values.items() if value}
