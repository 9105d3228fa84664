"""The plan import page (leaders and admins), the template download and the whole-plan export
(every signed-in user). The rules live in app.services.plan_xlsx_import / plan_xlsx_export."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.extensions import db
from app.models import Plan, User
from app.plan_io import bp
from app.plan_io.forms import PlanImportForm
from app.services.plan_xlsx_export import export_filename, export_plan, may_export_plan, reference_units
from app.services.plan_xlsx_import import XlsxImportError, import_xlsx, may_import_plans
from app.services.plan_xlsx_template import XLSX_MIMETYPE, template_bytes


@bp.get("/plans/import")
def import_form():
    _importer()
    return render_template("plan_io/import.html", form=PlanImportForm(), problems=[])


@bp.post("/plans/import")
def import_plan():
    user = _importer()
    form = PlanImportForm()
    if not form.validate_on_submit():
        return render_template("plan_io/import.html", form=form, problems=[]), 422
    upload = form.file.data
    try:
        imported = import_xlsx(upload.read(), upload.filename or "", user)
    except XlsxImportError as error:
        return render_template("plan_io/import.html", form=form, problems=error.messages), 422
    plan = imported.plan
    flash(_("The plan %(number)s was imported with %(count)d tasks.", number=plan.document_number,
            count=imported.stats.tasks.created), "success")  # fmt: skip
    return redirect(url_for("plans.show", plan_id=plan.id))


@bp.get("/plans/import/template.xlsx")
def template():
    return _download(template_bytes(reference_units()), "mau-nhap-ke-hoach.xlsx")


@bp.get("/plans/<int:plan_id>/export.xlsx")
def export(plan_id: int):
    plan = db.get_or_404(Plan, plan_id)
    user = current_user._get_current_object()
    if not may_export_plan(user, plan):
        abort(403)
    return _download(export_plan(plan, user), export_filename(plan))


def _importer() -> User:
    user = current_user._get_current_object()
    if not may_import_plans(user):
        abort(403)
    return user


def _download(content: bytes, filename: str) -> Response:
    response = Response(content, mimetype=XLSX_MIMETYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-cache"
    return response
