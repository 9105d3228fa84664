"""Units administration (admins only; the blueprint's check in routes.py): the tree, a new unit, editing
one, (de)activating it. The rules and the audit are app.services.unit_admin's."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.extensions import db
from app.models import Unit, User
from app.services import unit_admin as service
from app.services.user_admin import AdminError
from app.user_admin import bp
from app.user_admin.forms import BLOCKERS, ConfirmForm, NewUnitForm, UnitForm, message_for


@bp.get("/admin/units")
def units():
    return render_template("user_admin/units.html", nodes=service.unit_tree())


@bp.route("/admin/units/new", methods=["GET", "POST"])
def new_unit():
    form = NewUnitForm().offer(service.parent_choices())
    if form.validate_on_submit():
        try:
            unit = service.create_unit(_admin(), form.code.data, form.changes())
        except AdminError as error:
            db.session.rollback()
            form.show(error)
        else:
            db.session.commit()
            flash(_("The unit %(code)s was created.", code=unit.code), "success")
            return redirect(url_for("user_admin.edit_unit", unit_id=unit.id))
    status = 422 if form.is_submitted() else 200
    return render_template("user_admin/unit_new.html", form=form), status


@bp.route("/admin/units/<int:unit_id>", methods=["GET", "POST"])
def edit_unit(unit_id: int):
    unit = db.get_or_404(Unit, unit_id)
    if request.method == "GET":
        return _unit_page(unit)
    form = UnitForm().offer(service.parent_choices(unit))
    if form.validate_on_submit():
        try:
            changed = service.update_unit(_admin(), unit, form.changes())
        except AdminError as error:
            db.session.rollback()
            form.show(error)
        else:
            db.session.commit()
            flash(_("The unit was saved.") if changed else _("Nothing was changed."), "success")
            return redirect(url_for("user_admin.edit_unit", unit_id=unit.id))
    return _unit_page(unit, form=form, status=422)


@bp.post("/admin/units/<int:unit_id>/deactivate")
def deactivate_unit(unit_id: int):
    return _set_active(db.get_or_404(Unit, unit_id), False)


@bp.post("/admin/units/<int:unit_id>/reactivate")
def reactivate_unit(unit_id: int):
    return _set_active(db.get_or_404(Unit, unit_id), True)


def _set_active(unit: Unit, active: bool):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        change = service.reactivate_unit if active else service.deactivate_unit
        changed = change(_admin(), unit)
    except AdminError as error:
        db.session.rollback()
        return _unit_page(unit, error=_refusal(error), status=409)
    db.session.commit()
    if not changed:
        flash(_("Nothing was changed."), "info")
    elif active:
        flash(_("The unit was reactivated: it is offered again."), "success")
    else:
        flash(_("The unit was deactivated: it is no longer offered for new choices."), "success")
    return redirect(url_for("user_admin.edit_unit", unit_id=unit.id))


def _refusal(error: AdminError) -> str:
    if error.code != "unit_in_use":
        return message_for(error.code, error.params)
    reasons = "; ".join(_blocker_texts(error.params))
    return _("This unit cannot be deactivated while it still has %(reasons)s.", reasons=reasons)


def _blocker_texts(blockers: dict[str, int]) -> list[str]:
    return [str(BLOCKERS[name]) % {"count": count} for name, count in blockers.items()]


def _unit_page(unit: Unit, *, form: UnitForm | None = None, error: str | None = None, status: int = 200):
    if form is None:
        defaults = {
            "name": unit.name,
            "short_name": unit.short_name or "",
            "aliases": "\n".join(unit.aliases or []),
            "kind": unit.kind,
            "parent": unit.parent.code if unit.parent else "",
        }
        form = UnitForm(formdata=None, **defaults)
    form.offer(service.parent_choices(unit))
    page = render_template(
        "user_admin/unit_edit.html",
        unit=unit,
        form=form,
        confirm=ConfirmForm(formdata=None),
        blockers=_blocker_texts(service.deactivation_blockers(unit)) if unit.active else [],
        error=error or form.form_error,
    )
    return page, status


def _admin() -> User:
    return current_user._get_current_object()
