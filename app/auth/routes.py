"""Signing in (a CSRF-protected form) and out (POST only); both, and every failed attempt, are audited
with the client's IP address (and the attempted username for a failure, never the password)."""

from urllib.parse import urlsplit

from flask import current_app, g, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from app.auth import bp
from app.auth.forms import LoginForm
from app.extensions import db
from app.i18n import SESSION_KEY as LANGUAGE_KEY
from app.security import public
from app.services.accounts import authenticate, record_access
from app.throttle import sign_in_limits
from workflows.audit import Action


def _too_many_attempts(_limit):
    """The sign-in page again, saying why (429), instead of a bare error page."""
    message = _("Too many sign-in attempts. Please try again in a few minutes.")
    return make_response(render_template("auth/login.html", form=LoginForm(), error=message), 429)


@bp.route("/login", methods=["GET", "POST"])
@sign_in_limits(failed=lambda response: response.status_code != 302, on_breach=_too_many_attempts)
@public
def login():
    if current_user.is_authenticated:
        return redirect(url_for("plans.index"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = authenticate(form.username.data, form.password.data)
        action = Action.SIGNED_IN if user is not None else Action.SIGN_IN_FAILED
        record_access(action, user, ip=request.remote_addr, channel="web", username=form.username.data)
        db.session.commit()
        if user is not None:
            _start_fresh_session()
            login_user(user)
            return redirect(safe_next(request.args.get("next")) or url_for("plans.index"))
        error = _("Incorrect username or password.")
    return render_template("auth/login.html", form=form, error=error), 400 if form.errors else 200


@bp.post("/logout")
def logout():
    record_access(Action.SIGNED_OUT, current_user, ip=request.remote_addr, channel="web")
    db.session.commit()
    _start_fresh_session()
    logout_user()  # after the clear, so that its "forget the remember-me cookie" mark survives
    return redirect(url_for("auth.login"))


def _start_fresh_session() -> None:
    """Drop everything from before (no session fixation), keeping only the chosen language."""
    language = session.get(LANGUAGE_KEY)
    session.clear()
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)  # the old token died with it
    if language:
        session[LANGUAGE_KEY] = language


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site ("/plans/1"), else None: no scheme, host or "//"."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if any(ch.isspace() or ord(ch) < 32 for ch in target):
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None
