"""GET /audit (filters, newest first, "next page" by cursor), the people and units its filters suggest
for what is typed (GET /audit/suggestions), its CSV and XLSX exports, and GET /tasks/<id>/history/print.
The rules live in app.services.audit_queries and audit_export."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Response, abort, jsonify, render_template, request, stream_with_context
from flask_login import current_user

from app.audit import bp
from app.extensions import db
from app.models import Task, User
from app.services.audit_export import (
    EXPORT_MAX_ROWS,
    action_labels,
    audit_rows,
    begin_export,
    csv_chunks,
    export_rows,
    xlsx_bytes,
)
from app.services.audit_queries import (
    SUGGESTION_FIELDS,
    AuditFilters,
    FilterError,
    audit_page,
    chosen_labels,
    may_read_audit,
    parse_filters,
    suggestions,
)
from app.services.clock import to_local, utcnow
from app.services.step_context import history_rows
from workflows.permissions import may_view_task


@bp.get("/audit")
def index():
    _reader()
    errors, filters, page = {}, AuditFilters(), None
    try:
        filters = parse_filters(request.args)
        cursor, before = request.args.get("cursor") or None, request.args.get("before") or None
        page = audit_page(filters, cursor, before=before)
    except FilterError as error:
        errors = error.details
    return render_template(
        "audit/index.html",
        filters=filters,
        errors=errors,
        rows=audit_rows(page.events) if page else [],
        next_cursor=page.next_cursor if page else None,
        previous_cursor=page.previous_cursor if page else None,
        query=urlencode(filters.query_args()),
        chosen=chosen_labels(filters),
        actions=action_labels(),
        caps=EXPORT_MAX_ROWS,
    ), (400 if errors else 200)


@bp.get("/audit/suggestions")
def suggest():
    """`{"items": [{"value", "label"}]}`: at most 20 people (`field=actor`, the default) or units
    (`field=unit`) matching `q`, for the filters' text boxes; the audit page's readers only."""
    if not may_read_audit(current_user._get_current_object()):
        return jsonify(error="forbidden", details={}), 403
    field, typed = request.args.get("field") or "actor", request.args.get("q", "")
    errors = {}
    if field not in SUGGESTION_FIELDS:
        errors["field"] = "actor or unit"
    if len(typed) > 80:
        errors["q"] = "at most 80 characters"
    if errors:
        return jsonify(error="invalid parameters", details=errors), 400
    return jsonify(items=[{"value": value, "label": label} for value, label in suggestions(field, typed)])


@bp.get("/audit/export.csv")
def export_csv():
    export, stamp = _begin_export("csv")
    response = Response(stream_with_context(csv_chunks(export_rows(export))), mimetype="text/csv")
    return _as_download(response, export, f"nhat-ky-{stamp}.csv")


@bp.get("/audit/export.xlsx")
def export_xlsx():
    export, stamp = _begin_export("xlsx")
    mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = Response(xlsx_bytes(export_rows(export)), mimetype=mimetype)
    return _as_download(response, export, f"nhat-ky-{stamp}.xlsx")


@bp.get("/tasks/<int:task_id>/history/print")
def print_history(task_id: int):
    task = db.get_or_404(Task, task_id)
    if not may_view_task(current_user._get_current_object(), task):  # as the task page
        abort(403)
    return render_template("audit/print.html", task=task, rows=history_rows(task), printed_at=utcnow())


def _reader() -> User:
    user = current_user._get_current_object()
    if not may_read_audit(user):
        abort(403)
    return user


def _begin_export(fmt: str):
    user = _reader()
    try:
        filters = parse_filters(request.args)
    except FilterError:
        abort(400)
    return begin_export(filters, user, fmt), to_local(utcnow()).strftime("%Y%m%d-%H%M")


def _as_download(response: Response, export, filename: str) -> Response:
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Export-Rows"] = str(export.rows)
    response.headers["X-Export-Truncated"] = "true" if export.truncated else "false"
    return response
