"""Kế hoạch cấp xã in the browser: the department's frameworks (create, edit, publish; who has submitted;
the consolidated targets, also as .xlsx) and each commune's plan (build, edit, then submit through the
plan's steps on the standard step page). app/services/commune_plan_access.py decides who may do what."""

from __future__ import annotations

from decimal import Decimal

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.commune_plans import bp
from app.commune_plans.forms import (
    commune_plan_payload,
    framework_form_rows,
    framework_payload,
    plan_form_rows,
)
from app.extensions import db
from app.models import User
from app.models.commune_plans import CommunePlan, CommunePlanStatus, PlanFramework
from app.services import commune_plan_access as access
from app.services import commune_plan_overview as overview
from app.services import commune_plans, plan_frameworks
from app.services.clock import local_today
from app.services.commune_plan_values import as_number
from workflows.errors import Conflict, InvalidData, NotAllowed
from workflows.guards import may_see

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NOT_READY = _l(
    "The framework cannot be published yet: it needs a submission deadline, sections and indicators."
)
STATUS_LABELS = {
    CommunePlanStatus.NONE: _l("Not started"),
    CommunePlanStatus.DRAFTING: _l("Being drafted"),
    CommunePlanStatus.RETURNED: _l("Returned for revision"),
    CommunePlanStatus.AWAITING_APPROVAL: _l("Awaiting the chairman's approval"),
    CommunePlanStatus.SUBMITTED: _l("Sent to the department"),
    CommunePlanStatus.ACKNOWLEDGED: _l("Acknowledged by the department"),
}


@bp.context_processor
def _helpers() -> dict:
    return {"plan_status_labels": STATUS_LABELS, "num": vn_number}


def vn_number(value) -> str:
    """12.5 -> "12,5"; 1500 -> "1.500" (Vietnamese separators); None -> ""."""
    if value is None:
        return ""
    number = as_number(Decimal(str(value)))
    text = f"{number:,}" if isinstance(number, int) else f"{number:,.3f}".rstrip("0").rstrip(".")
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


@bp.app_template_global()
def commune_plan_of(task) -> CommunePlan | None:
    """The commune plan a task carries (kind `commune`) when the signed-in user may read it: the step
    page and the task page link to it."""
    if task is None or task.kind != commune_plans.TASK_KIND or not current_user.is_authenticated:
        return None
    plan = commune_plans.plan_of_task(task.id)
    return plan if plan is not None and access.may_read_plan(_user(), plan) else None


def _user() -> User:
    return current_user._get_current_object()


def _framework(framework_id: int) -> PlanFramework:
    framework = db.get_or_404(PlanFramework, framework_id)
    if not access.may_read_framework(_user(), framework):
        abort(404)  # a draft is not shown to those who may not see drafts
    return framework


def _plan(commune_plan_id: int) -> CommunePlan:
    plan = db.get_or_404(CommunePlan, commune_plan_id)
    if not access.may_read_plan(_user(), plan):
        abort(403)
    return plan


def _overseer() -> User:
    user = _user()
    if not access.oversees_communes(user):
        abort(403)
    return user


@bp.get("/commune-plans")
def index():
    user = _user()
    commune = access.commune_of(user)
    mine = {}
    if commune is not None:
        mine = {
            p.framework_id: p
            for p in db.session.scalars(db.select(CommunePlan).filter_by(commune_unit_id=commune.id))
        }
    return render_template(
        "commune_plans/index.html",
        frameworks=plan_frameworks.frameworks_for(user),
        commune=commune,
        mine=mine,
        may_manage=access.may_manage_frameworks(user),
    )


@bp.route("/commune-plans/frameworks/new", methods=["GET", "POST"])
def new_framework():
    user = _user()
    if not access.may_manage_frameworks(user):
        abort(403)
    if request.method == "GET":
        return _framework_form(None, None)
    rows = framework_payload(request.form)
    try:
        framework = plan_frameworks.create_framework(user, rows.payload)
    except InvalidData as error:
        return _framework_form(None, request.form, rows.errors_for_form(error.details)), 422
    flash(_("The framework was saved as a draft."), "success")
    return redirect(url_for("commune_plans.framework", framework_id=framework.id))


@bp.route("/commune-plans/frameworks/<int:framework_id>/edit", methods=["GET", "POST"])
def edit_framework(framework_id: int):
    framework, user = _framework(framework_id), _user()
    if not access.may_manage_frameworks(user):
        abort(403)
    if framework.is_published:
        flash(_("A published framework no longer changes."), "warning")
        return redirect(url_for("commune_plans.framework", framework_id=framework.id))
    if request.method == "GET":
        return _framework_form(framework, None)
    rows = framework_payload(request.form)
    try:
        plan_frameworks.update_framework(framework, user, rows.payload)
    except InvalidData as error:
        return _framework_form(framework, request.form, rows.errors_for_form(error.details)), 422
    flash(_("The framework was saved."), "success")
    return redirect(url_for("commune_plans.framework", framework_id=framework.id))


def _framework_form(framework: PlanFramework | None, form, errors: dict | None = None):
    rows = framework_form_rows(framework, form)
    if framework is None and form is None:
        rows["fields"]["year"] = local_today().year + 1
    return render_template(
        "commune_plans/framework_form.html", framework=framework, rows=rows, errors=errors or {}
    )


@bp.post("/commune-plans/frameworks/<int:framework_id>/publish")
def publish_framework(framework_id: int):
    framework = _framework(framework_id)
    try:
        plan_frameworks.publish_framework(framework, _user())
    except NotAllowed:
        abort(403)
    except Conflict:
        flash(_("A published framework no longer changes."), "warning")
    except InvalidData:
        flash(str(NOT_READY), "danger")
    else:
        flash(_("The framework was published: every commune can now build its plan from it."), "success")
    return redirect(url_for("commune_plans.framework", framework_id=framework.id))


@bp.get("/commune-plans/frameworks/<int:framework_id>")
def framework(framework_id: int):
    framework, user = _framework(framework_id), _user()
    commune = access.commune_of(user)
    return render_template(
        "commune_plans/framework.html",
        framework=framework,
        commune=commune,
        own_plan=commune_plans.plan_for(framework, commune) if commune else None,
        may_create=framework.is_published and access.may_create_plan(user),
        may_manage=access.may_manage_frameworks(user),
        overview=overview.submission_overview(framework) if access.oversees_communes(user) else None,
    )


@bp.post("/commune-plans/frameworks/<int:framework_id>/plans")
def create_plan(framework_id: int):
    framework = _framework(framework_id)
    try:
        plan = commune_plans.create_commune_plan(framework, _user())
    except NotAllowed:
        abort(403)
    except Conflict as error:
        existing = (error.details or {}).get("commune_plan_id")
        if existing:
            return redirect(url_for("commune_plans.plan", commune_plan_id=existing))
        flash(_("The plan could not be created now; please try again."), "warning")
        return redirect(url_for("commune_plans.framework", framework_id=framework.id))
    flash(_("Your commune's plan was created from the framework: fill it in and save."), "success")
    return redirect(url_for("commune_plans.edit_plan", commune_plan_id=plan.id))


@bp.get("/commune-plans/frameworks/<int:framework_id>/targets")
def targets(framework_id: int):
    _overseer()
    return render_template(
        "commune_plans/targets.html", table=overview.targets_table(_framework(framework_id))
    )


@bp.get("/commune-plans/frameworks/<int:framework_id>/targets.xlsx")
def targets_xlsx(framework_id: int):
    _overseer()
    framework = _framework(framework_id)
    response = Response(overview.targets_xlsx(overview.targets_table(framework)), mimetype=XLSX)
    name = f"chi-tieu-cac-xa-{framework.year}-{framework.id}.xlsx"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.get("/commune-plans/<int:commune_plan_id>")
def plan(commune_plan_id: int):
    plan, user = _plan(commune_plan_id), _user()
    return render_template(
        "commune_plans/plan.html",
        plan=plan,
        items=[item for item in access.open_items(plan) if may_see(user, item)],
        editable=access.may_edit_plan(user, plan),
        missing=commune_plans.missing_parts(plan),
        offices={office.code: office for office in commune_plans.commune_offices(plan.commune)},
        contents={row.framework_section_id: row.content for row in plan.sections},
        targets={row.framework_indicator_id: row for row in plan.targets},
        last_return=overview.latest_return(plan),
    )


@bp.route("/commune-plans/<int:commune_plan_id>/edit", methods=["GET", "POST"])
def edit_plan(commune_plan_id: int):
    plan, user = _plan(commune_plan_id), _user()
    if not access.may_edit_plan(user, plan):
        if access.drafting_item(plan) is None:
            flash(_("The plan has been submitted: it no longer changes unless it is returned."), "warning")
            return redirect(url_for("commune_plans.plan", commune_plan_id=plan.id))
        abort(403)
    if request.method == "GET":
        return _plan_form(plan, None)
    framework = plan.framework
    rows = commune_plan_payload(
        request.form, [s.id for s in framework.sections], [i.id for i in framework.indicators]
    )
    try:
        commune_plans.update_content(plan, user, rows.payload)
    except NotAllowed:
        abort(403)
    except Conflict:
        flash(_("The plan has been submitted: it no longer changes unless it is returned."), "warning")
        return redirect(url_for("commune_plans.plan", commune_plan_id=plan.id))
    except InvalidData as error:
        return _plan_form(plan, request.form, rows.errors_for_form(error.details)), 422
    flash(_("The plan was saved."), "success")
    return redirect(url_for("commune_plans.plan", commune_plan_id=plan.id))


def _plan_form(plan: CommunePlan, form, errors: dict | None = None):
    return render_template(
        "commune_plans/plan_form.html",
        plan=plan,
        rows=plan_form_rows(plan, form),
        errors=errors or {},
        offices=commune_plans.commune_offices(plan.commune),
    )
