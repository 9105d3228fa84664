"""Users administration (admins only): the list, a new account, editing one, (de)activating it, and a
password reset. The rules and the audit are app.services.user_admin's; these views only read forms."""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.extensions import db
from app.models import Role, User
from app.services import user_admin as service
from app.services.user_admin import AdminError, UserFilter
from app.user_admin import bp
from app.user_admin.forms import ConfirmForm, NewUserForm, PasswordResetForm, UserForm, message_for


@bp.before_request
def _admins_only():
    """Every page here is for administrators (signing in is checked before, by app.security)."""
    if not current_user.is_authenticated or not current_user.has_role(Role.ADMIN):
        abort(403)


@bp.get("/admin/users")
def users():
    args = request.args
    user_filter = UserFilter(
        search=args.get("q", "").strip()[:100], unit=args.get("unit", "")[:40], status=args.get("status", "")
    )
    return render_template(
        "user_admin/users.html",
        users=service.list_users(user_filter),
        user_filter=user_filter,
        units=service.filter_units(),
        limit=service.LIST_LIMIT,
    )


@bp.route("/admin/users/new", methods=["GET", "POST"])
def new_user():
    form = NewUserForm().offer(service.member_units())
    if form.validate_on_submit():
        try:
            user, generated = service.create_user(
                _admin(), username=form.username.data, full_name=form.full_name.data, email=form.email.data,
                unit_code=form.unit.data, roles=form.roles.data or [], password=form.chosen_password(),
            )  # fmt: skip
        except AdminError as error:
            db.session.rollback()
            form.show(error)
        else:
            db.session.commit()
            return _saved(user, generated, _("The account %(username)s was created.", username=user.username))
    status = 422 if form.is_submitted() else 200
    return render_template("user_admin/user_new.html", form=form), status


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
def edit_user(user_id: int):
    user = db.get_or_404(User, user_id)
    if request.method == "GET":
        return _user_page(user)
    form = UserForm().offer(service.member_units(user.unit))
    if form.validate_on_submit():
        try:
            changed = service.update_user(
                _admin(), user, full_name=form.full_name.data, email=form.email.data,
                unit_code=form.unit.data, roles=form.roles.data or [],
            )  # fmt: skip
        except AdminError as error:
            db.session.rollback()
            form.show(error)
        else:
            db.session.commit()
            flash(_("The account was saved.") if changed else _("Nothing was changed."), "success")
            return redirect(url_for("user_admin.edit_user", user_id=user.id))
    return _user_page(user, form=form, status=422)


@bp.post("/admin/users/<int:user_id>/deactivate")
def deactivate_user(user_id: int):
    return _set_active(db.get_or_404(User, user_id), False)


@bp.post("/admin/users/<int:user_id>/reactivate")
def reactivate_user(user_id: int):
    return _set_active(db.get_or_404(User, user_id), True)


@bp.post("/admin/users/<int:user_id>/password")
def reset_password(user_id: int):
    user = db.get_or_404(User, user_id)
    form = PasswordResetForm()
    if form.validate_on_submit():
        try:
            generated = service.reset_password(_admin(), user, form.chosen_password())
        except AdminError as error:
            db.session.rollback()
            form.show(error)
        else:
            db.session.commit()
            return _saved(
                user, generated, _("The password of %(username)s was changed.", username=user.username)
            )
    return _user_page(user, reset_form=form, status=422)


def _set_active(user: User, active: bool):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        if active:
            changed = service.reactivate_user(_admin(), user)
        else:
            changed = service.deactivate_user(_admin(), user) is not None
    except AdminError as error:
        db.session.rollback()
        return _user_page(user, error=message_for(error.code, error.params), status=409)
    db.session.commit()
    if not changed:
        flash(_("Nothing was changed."), "info")
    elif active:
        flash(_("The account was reactivated: it can sign in again."), "success")
    else:
        flash(
            _("The account was deactivated: it can no longer sign in, and its API tokens were revoked."),
            "success",
        )
    return redirect(url_for("user_admin.edit_user", user_id=user.id))


def _saved(user: User, generated: str | None, message: str):
    """After a create or a reset: the generated password, shown this once (never stored in clear), or
    back to the account's page."""
    if generated is None:
        flash(message, "success")
        return redirect(url_for("user_admin.edit_user", user_id=user.id))
    response = make_response(
        render_template("user_admin/password_shown.html", user=user, password=generated, message=message)
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _user_page(user: User, *, form=None, reset_form=None, error: str | None = None, status: int = 200):
    if form is None:
        defaults = {"full_name": user.full_name, "email": user.email or "", "unit": user.unit.code}
        form = UserForm(formdata=None, roles=user.roles, **defaults)
    form.offer(service.member_units(user.unit))
    page = render_template(
        "user_admin/user_edit.html",
        user=user,
        form=form,
        reset_form=reset_form or PasswordResetForm(formdata=None),
        confirm=ConfirmForm(formdata=None),
        error=error or getattr(form, "form_error", None) or getattr(reset_form, "form_error", None),
        is_self=user.id == current_user.id,
    )
    return page, status


def _admin() -> User:
    return current_user._get_current_object()
