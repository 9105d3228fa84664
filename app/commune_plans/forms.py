"""Web forms of frameworks and commune plans, read into the services' payloads (the API's shape).

Repeated rows are named `<kind>-<row>-<field>` (e.g. `task-3-title`); wholly blank rows are dropped, and
`Rows.form_keys` maps the payload's row numbers back to the form's, so that the services' errors (keyed by
payload path, e.g. `tasks[1].title`) are shown beside the right input, in Vietnamese.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from app.services import commune_plan_values as values
from app.services.plan_frameworks import INDICATOR_FIELDS, SECTION_FIELDS, TASK_FIELDS

BLANK_ROWS = 3  # empty rows offered under each list for adding more
MAX_FORM_ROWS = 250
_ROW_KEY = re.compile(r"^(section|indicator|task)-(\d{1,4})-([a-z_]+)$")

# the services' English messages by their start -> what the page says (longest starts first)
MESSAGES = [
    (values.TOO_PRECISE, _l("At most 3 decimal places.")),
    (values.REQUIRED, _l("Required.")),
    (values.TOO_LONG, _l("Too long.")),
    (values.NOT_NUMBER, _l("Enter a number.")),
    (values.NEGATIVE, _l("Must not be negative.")),
    (values.TOO_LARGE, _l("Too large.")),
    (values.NOT_DATE, _l("Enter a date.")),
    (values.NOT_INTEGER, _l("Enter a whole number.")),
    (values.TOO_MANY, _l("Too many rows.")),
    (values.DUPLICATE, _l("Given twice.")),
    (values.UNKNOWN, _l("Not one of the choices.")),
]
NOT_ACCEPTED = _l("Not accepted.")


def shown(message: Any) -> str:
    text = message if isinstance(message, str) else ""
    return str(next((words for start, words in MESSAGES if text.startswith(start)), NOT_ACCEPTED))


@dataclass
class Rows:
    """The payload read from a form, and where each payload path's errors go in the form."""

    payload: dict[str, Any] = field(default_factory=dict)
    form_keys: dict[str, str] = field(default_factory=dict)  # payload path prefix -> form key prefix

    def errors_for_form(self, details: dict[str, Any]) -> dict[str, str]:
        """Service errors keyed by form field name ("task-3-title"), in words for the page."""
        found = {}
        for path, message in (details or {}).items():
            prefix, _, name = path.partition(".")
            key = self.form_keys.get(prefix, prefix)
            found[f"{key}-{name}" if name else key] = shown(message)
        return found


def _rows(form: MultiDict, kind: str) -> dict[int, dict[str, str]]:
    found: dict[int, dict[str, str]] = {}
    for key in form:
        match = _ROW_KEY.match(key)
        if match and match[1] == kind and int(match[2]) < MAX_FORM_ROWS:
            found.setdefault(int(match[2]), {})[match[3]] = form.get(key, "")
    return dict(sorted(found.items()))


def _lines(text: str) -> list[str]:
    return [line.strip() for line in re.split(r"[\n;]", text or "") if line.strip()]


def framework_payload(form: MultiDict) -> Rows:
    rows = Rows()
    rows.payload = {name: form.get(name, "") for name in ("title", "year", "introduction", "submission_due")}
    for kind, plural, fields in (
        ("section", "sections", SECTION_FIELDS),
        ("indicator", "indicators", INDICATOR_FIELDS),
        ("task", "tasks", TASK_FIELDS),
    ):
        entries = []
        for number, row in _rows(form, kind).items():
            entry: dict[str, Any] = {name: row.get(name, "") for name in fields}
            if "coordinating_offices" in entry:
                entry["coordinating_offices"] = _lines(entry["coordinating_offices"])
            if not any(entry.values()):
                continue
            rows.form_keys[f"{plural}[{len(entries)}]"] = f"{kind}-{number}"
            entries.append(entry)
        rows.payload[plural] = entries
    return rows


def commune_plan_payload(form: MultiDict, section_ids: list[int], indicator_ids: list[int]) -> Rows:
    rows = Rows()
    rows.payload["sections"] = [
        {"section_id": ref, "content": form.get(f"section-{ref}", "")} for ref in section_ids
    ]
    for i, ref in enumerate(section_ids):
        rows.form_keys[f"sections[{i}]"] = f"section-{ref}"
    rows.payload["targets"] = [
        {
            "indicator_id": ref,
            "target": form.get(f"target-{ref}", ""),
            "note": form.get(f"target-{ref}-note", ""),
        }
        for ref in indicator_ids
    ]
    for i, ref in enumerate(indicator_ids):
        rows.form_keys[f"targets[{i}]"] = f"target-{ref}"
    tasks = []
    for number, row in _rows(form, "task").items():
        if row.get("delete"):
            continue
        entry: dict[str, Any] = {
            "framework_task_id": int(row["framework_task_id"])
            if row.get("framework_task_id", "").isdigit()
            else None,
            "title": row.get("title", ""),
            "lead_office": row.get("lead_office", ""),
            "coordinating_offices": [c for c in form.getlist(f"task-{number}-coordinating_offices") if c],
            "expected_result": row.get("expected_result", ""),
            "budget_million_vnd": row.get("budget_million_vnd", ""),
            "completion_time": row.get("completion_time", ""),
        }
        if not any(value for name, value in entry.items() if name != "framework_task_id"):
            continue
        rows.form_keys[f"tasks[{len(tasks)}]"] = f"task-{number}"
        tasks.append(entry)
    rows.payload["tasks"] = tasks
    return rows


# --- what the forms show: the stored values, or what was typed when the save was refused ------------


def _with_blank_rows(rows: list[tuple[int, dict]]) -> list[tuple[int, dict]]:
    start = max((number for number, _row in rows), default=-1) + 1
    return rows + [(start + i, {}) for i in range(BLANK_ROWS)]


def framework_form_rows(framework, form: MultiDict | None) -> dict[str, Any]:
    """{"fields": {...}, "sections"|"indicators"|"tasks": [(row number, {field: text})]}."""
    if form is not None:
        shown_rows = {kind: list(_rows(form, kind).items()) for kind in ("section", "indicator", "task")}
        fields = {name: form.get(name, "") for name in ("title", "year", "introduction", "submission_due")}
    else:
        shown_rows = {"section": [], "indicator": [], "task": []}
        fields = {"title": "", "year": "", "introduction": "", "submission_due": ""}
        if framework is not None:
            fields = {
                "title": framework.title,
                "year": framework.year,
                "introduction": framework.introduction or "",
                "submission_due": framework.submission_due.isoformat() if framework.submission_due else "",
            }
            shown_rows["section"] = [
                (i, {"number": s.number, "heading": s.heading, "required_content": s.required_content or ""})
                for i, s in enumerate(framework.sections)
            ]
            shown_rows["indicator"] = [
                (i, {"name": x.name, "unit_of_measure": x.unit_of_measure, "target": _number_text(x.target)})
                for i, x in enumerate(framework.indicators)
            ]
            shown_rows["task"] = [(i, _framework_task_text(t)) for i, t in enumerate(framework.tasks)]
    return {
        "fields": fields,
        "sections": _with_blank_rows(shown_rows["section"]),
        "indicators": _with_blank_rows(shown_rows["indicator"]),
        "tasks": _with_blank_rows(shown_rows["task"]),
    }


def _framework_task_text(task) -> dict[str, str]:
    return {
        "title": task.title,
        "lead_office": task.lead_office or "",
        "coordinating_offices": "; ".join(task.coordinating_offices or []),
        "expected_result": task.expected_result or "",
        "budget_million_vnd": _number_text(task.budget_million_vnd),
        "completion_time": task.completion_time or "",
    }


def _number_text(value) -> str:
    number = values.as_number(value)
    return "" if number is None else str(number)


def plan_form_rows(plan, form: MultiDict | None) -> dict[str, Any]:
    """The commune plan form's values: sections and targets by id, and the task rows."""
    if form is not None:
        sections = {s.id: form.get(f"section-{s.id}", "") for s in plan.framework.sections}
        targets = {
            i.id: (form.get(f"target-{i.id}", ""), form.get(f"target-{i.id}-note", ""))
            for i in plan.framework.indicators
        }
        tasks = [
            (number, row | {"coordinating_offices": form.getlist(f"task-{number}-coordinating_offices")})
            for number, row in _rows(form, "task").items()
        ]
    else:
        sections = {row.framework_section_id: row.content for row in plan.sections}
        targets = {
            row.framework_indicator_id: (_number_text(row.target), row.note or "") for row in plan.targets
        }
        tasks = [
            (
                i,
                {
                    "framework_task_id": str(t.framework_task_id or ""),
                    "title": t.title,
                    "lead_office": t.lead_office.code if t.lead_office else "",
                    "coordinating_offices": list(t.coordinating_offices or []),
                    "expected_result": t.expected_result or "",
                    "budget_million_vnd": _number_text(t.budget_million_vnd),
                    "completion_time": t.completion_time or "",
                },
            )
            for i, t in enumerate(plan.tasks)
        ]
    return {"sections": sections, "targets": targets, "tasks": _with_blank_rows(tasks)}
