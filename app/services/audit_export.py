"""Audit rows as people read them, for the /audit page and its CSV and XLSX exports.

An export holds at most EXPORT_MAX_ROWS[format] rows, newest first: 100,000 in CSV (about 10 s to
stream), 50,000 in XLSX (openpyxl writes about 3,000 rows a second; the workbook is built before it is
sent, so the cap keeps it well inside the server's 60 s timeout). An export reads the rows that existed
when it began and is itself audited as `audit.exported` with its format, filters, row count and whether
the cap cut it short (also sent as the X-Export-Truncated header).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import select

from app import labels
from app.extensions import db
from app.models import AuditEvent, Task, User
from app.services.audit_queries import AuditFilters, count_upto, iter_events, known_actions, newest_id
from app.services.clock import to_local
from app.services.form_options import unit_names
from app.services.step_context import ACTION_LABELS
from workflows.audit import Action, record

EXPORT_MAX_ROWS = {"csv": 100_000, "xlsx": 50_000}

# Actions without a task, which the task history (step_context.ACTION_LABELS) does not name.
EXTRA_ACTION_LABELS = {
    Action.FILE_ADDED: _l("Added a file"),
    Action.AUDIT_EXPORTED: _l("Exported the audit trail"),
    "auth.signed_in": _l("Signed in"),
    "auth.signed_out": _l("Signed out"),
    "auth.sign_in_failed": _l("Failed sign-in"),
    "auth.token_issued": _l("Issued an API token"),
    "auth.token_refused": _l("Refused an API token"),
    "definition.deployed": _l("Deployed a process definition"),
    "definition.draft_saved": _l("Saved a process draft"),
    "definition.draft_discarded": _l("Discarded a process draft"),
    "instance.migrated": _l("Moved a running process to a newer version"),
    "user.created": _l("Created an account"),
    "user.updated": _l("Changed an account"),
    "unit.created": _l("Created a unit"),
    "unit.updated": _l("Changed a unit"),
    "plan.imported": _l("Imported a plan"),
    "plan.exported": _l("Exported a plan"),
    "indicator.value_recorded": _l("Recorded an indicator value"),
}


def action_labels() -> dict[str, str]:
    """Action code -> label, for every action the app records (the code itself when it has no label)."""
    merged = {**ACTION_LABELS, **EXTRA_ACTION_LABELS}
    return {action: str(merged.get(action, action)) for action in known_actions()}


@dataclass
class AuditRow:
    id: int
    at: datetime  # local time, Asia/Ho_Chi_Minh
    actor_username: str | None
    actor_name: str | None
    unit_code: str | None
    unit_name: str | None
    action: str
    action_label: str
    task_id: int | None
    task_code: str | None
    step_name: str | None
    from_label: str | None
    to_label: str | None
    comment: str | None


def audit_rows(events: list[AuditEvent]) -> list[AuditRow]:
    units = unit_names({event.actor_unit_code for event in events if event.actor_unit_code})
    codes = _task_codes({event.task_id for event in events if event.task_id is not None})
    names = action_labels()
    states = {state: str(label) for state, label in labels.TASK_STATE_LABELS.items()}
    return [_row(event, units, codes, names, states) for event in events]


def _row(event: AuditEvent, units: dict, codes: dict, names: dict, states: dict) -> AuditRow:
    changed = event.from_state != event.to_state
    return AuditRow(
        id=event.id,
        at=to_local(event.at),
        actor_username=event.actor_username,
        actor_name=event.actor_name or event.actor_username,
        unit_code=event.actor_unit_code,
        unit_name=units.get(event.actor_unit_code, event.actor_unit_code),
        action=event.action,
        action_label=names.get(event.action, event.action),
        task_id=event.task_id,
        task_code=codes.get(event.task_id),
        step_name=event.step_name,
        from_label=states.get(event.from_state, event.from_state) if changed else None,
        to_label=states.get(event.to_state, event.to_state) if changed else None,
        comment=event.comment,
    )


def _task_codes(task_ids: set[int]) -> dict[int, str]:
    if not task_ids:
        return {}
    return dict(db.session.execute(select(Task.id, Task.code).where(Task.id.in_(task_ids))).tuples().all())


# --- exports --------------------------------------------------------------------------------------


@dataclass
class Export:
    filters: AuditFilters
    upto_id: int
    rows: int
    truncated: bool


def begin_export(filters: AuditFilters, user: User, fmt: str) -> Export:
    """Fix the set to export (rows up to now, at most the format's cap), audit the export and commit."""
    upto, cap = newest_id(), EXPORT_MAX_ROWS[fmt]
    counted = count_upto(filters, upto, cap + 1)
    export = Export(filters, upto, min(counted, cap), counted > cap)
    data = {"format": fmt, "filters": filters.as_dict(), "rows": export.rows, "truncated": export.truncated}
    record(Action.AUDIT_EXPORTED, user, None, data=data)
    db.session.commit()
    return export


def export_rows(export: Export) -> Iterator[AuditRow]:
    for events in iter_events(export.filters, export.upto_id, export.rows):
        yield from audit_rows(events)


def headers() -> list[str]:
    return [
        _("Event"),
        _("Time"),
        _("Account"),
        _("Person"),
        _("Unit code"),
        _("Unit"),
        _("Action"),
        _("Task code"),
        _("Step"),
        _("From state"),
        _("To state"),
        _("Comment"),
    ]


COLUMN_WIDTHS = (9, 19, 14, 26, 12, 32, 28, 10, 34, 26, 26, 60)


def _values(row: AuditRow) -> list:
    return [
        row.id,
        row.at.replace(tzinfo=None),
        row.actor_username,
        row.actor_name,
        row.unit_code,
        row.unit_name,
        row.action_label,
        row.task_code,
        row.step_name,
        row.from_label,
        row.to_label,
        row.comment,
    ]


def csv_chunks(rows: Iterable[AuditRow], chunk_rows: int = 500) -> Iterator[str]:
    """The CSV in pieces: a BOM (so Excel reads UTF-8), the header, the rows (times dd/mm/yyyy HH:MM:SS)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(headers())
    for number, row in enumerate(rows, 1):
        values = _values(row)
        values[1] = values[1].strftime("%d/%m/%Y %H:%M:%S")
        writer.writerow(["" if value is None else value for value in values])
        if number % chunk_rows == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def xlsx_bytes(rows: Iterable[AuditRow]) -> bytes:
    """A write-only workbook: bold frozen header, autofilter, column widths, real (local) datetimes."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Audit trail")[:31])
    sheet.freeze_panes = "A2"
    for index, width in enumerate(COLUMN_WIDTHS, 1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    bold = Font(bold=True)
    header = [WriteOnlyCell(sheet, value=title) for title in headers()]
    for cell in header:
        cell.font = bold
    sheet.append(header)
    count = 0
    for row in rows:
        values = _values(row)
        moment = WriteOnlyCell(sheet, value=values[1])
        moment.number_format = "dd/mm/yyyy hh:mm:ss"
        sheet.append([values[0], moment, *values[2:]])
        count += 1
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(COLUMN_WIDTHS))}{count + 1}"
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()
