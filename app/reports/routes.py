"""A reporting task's documents for a period (?period=YYYY-MM, the latest by default):
GET/POST /tasks/<id>/monthly-report (the unit's report, or the consolidated report for BC-TH) and
/tasks/<id>/meeting-minutes (BC-TH only): the preview and, for the reporting unit while it is a draft,
the edit form; .docx and .xlsx downloads of each. app.services.report_documents decides who may."""

from __future__ import annotations

import re

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.extensions import db
from app.models import Task, User
from app.models.reports import ReportKind
from app.reports import bp
from app.reports.forms import ReportForm
from app.services import report_docx, report_xlsx
from app.services.report_content import kinds_for, month_text, periods_of, place_and_date
from app.services.report_documents import (
    Frozen,
    ReportView,
    Stale,
    load,
    may_edit,
    may_edit_unit,
    may_read,
    save,
)
from workflows.errors import InvalidData, NotAllowed

PERIOD_RE = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REPORT, MINUTES = "report", "minutes"
KIND_LABELS = {
    ReportKind.UNIT: _l("Monthly report"),
    ReportKind.CONSOLIDATED: _l("Consolidated report"),
    ReportKind.MINUTES: _l("Meeting minutes"),
}


@bp.get("/tasks/<int:task_id>/monthly-report")
def report(task_id: int):
    task = db.get_or_404(Task, task_id)
    if kinds_for(task) and not request.args.get("period") and not periods_of(task):
        flash(_("No reporting period of this task has started yet."), "info")
        return redirect(url_for("tasks.show", task_id=task.id))
    return _page(_view(task_id, REPORT))


@bp.post("/tasks/<int:task_id>/monthly-report")
def edit_report(task_id: int):
    return _edit(_view(task_id, REPORT))


@bp.get("/tasks/<int:task_id>/monthly-report.docx")
def report_docx_file(task_id: int):
    return _download(_view(task_id, REPORT), "docx")


@bp.get("/tasks/<int:task_id>/monthly-report.xlsx")
def report_xlsx_file(task_id: int):
    return _download(_view(task_id, REPORT), "xlsx")


@bp.get("/tasks/<int:task_id>/meeting-minutes")
def minutes(task_id: int):
    return _page(_view(task_id, MINUTES))


@bp.post("/tasks/<int:task_id>/meeting-minutes")
def edit_minutes(task_id: int):
    return _edit(_view(task_id, MINUTES))


@bp.get("/tasks/<int:task_id>/meeting-minutes.docx")
def minutes_docx_file(task_id: int):
    return _download(_view(task_id, MINUTES), "docx")


@bp.get("/tasks/<int:task_id>/meeting-minutes.xlsx")
def minutes_xlsx_file(task_id: int):
    return _download(_view(task_id, MINUTES), "xlsx")


def _view(task_id: int, which: str) -> ReportView:
    """The document asked for, or 404 (no such task, document or period) / 403 (may not read it)."""
    task = db.get_or_404(Task, task_id)
    kinds = kinds_for(task)
    kind = ReportKind.MINUTES if which == MINUTES else (kinds[0] if kinds else None)
    if kind not in kinds:
        abort(404)
    period = request.args.get("period", "")
    if not period:
        period = next(iter(periods_of(task)), "")
    view = load(task, period, kind) if PERIOD_RE.match(period) else None
    if view is None:
        abort(404)
    if not may_read(_user(), view):
        abort(403)
    return view


def _edit(view: ReportView):
    user = _user()
    if not may_edit_unit(user, view.task):
        abort(403)
    form = ReportForm.for_view(view, formdata=request.form)
    if view.approved:
        return _page(
            view, form, refusal=_("This document has been approved and can no longer be changed.")
        ), 409
    if not form.validate_on_submit():
        return _page(view, form), 422
    try:
        changed = save(view, user, form.values(view), form.submitted_revision())
    except NotAllowed:
        abort(403)
    except Frozen:
        return _page(
            view, form, refusal=_("This document has been approved and can no longer be changed.")
        ), 409
    except Stale:
        message = _("Someone else saved this document meanwhile. Look at their changes, then edit again.")
        flash(message, "warning")
        return redirect(_url(view))
    except InvalidData as error:
        return _page(view, form, service_errors=error.details or {}), 422
    flash(
        _("The document was saved.") if changed else _("Nothing was changed."),
        "success" if changed else "info",
    )
    return redirect(_url(view))


def _download(view: ReportView, fmt: str) -> Response:
    body = report_docx.render(view) if fmt == "docx" else report_xlsx.render(view)
    stem = "bien-ban-hop" if view.kind == ReportKind.MINUTES else "bao-cao-thang"
    response = Response(body, mimetype=DOCX if fmt == "docx" else XLSX)
    filename = f"{stem}-{view.task.code}-{view.period}.{fmt}"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _page(view: ReportView, form: ReportForm | None = None, refusal: str | None = None, service_errors=None):
    user = _user()
    editable = may_edit(user, view)
    if form is None and editable:
        form = ReportForm.for_view(view)
    return render_template(
        "reports/show.html",
        view=view,
        task=view.task,
        plan=view.task.plan,
        month=month_text(view.period),
        kind_label=KIND_LABELS[view.kind],
        dated=place_and_date(view.fields.place, view.fields.doc_date),
        periods=periods_of(view.task),
        kinds=kinds_for(view.task),
        form=form if editable else None,
        editable=editable,
        refusal=refusal,
        service_errors=service_errors or {},
        endpoint="reports.minutes" if view.kind == ReportKind.MINUTES else "reports.report",
    )


def _url(view: ReportView) -> str:
    endpoint = "reports.minutes" if view.kind == ReportKind.MINUTES else "reports.report"
    return url_for(endpoint, task_id=view.task.id, period=view.period)


def _user() -> User:
    return current_user._get_current_object()
