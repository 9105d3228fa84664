"""Language and time zone: Vietnamese by default, English on request, Asia/Ho_Chi_Minh everywhere."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, has_request_context, redirect, request, session, url_for
from flask_babel import get_locale

from app.extensions import babel
from app.security import public

bp = Blueprint("locale", __name__)

SESSION_KEY = "lang"


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    chosen = session.get(SESSION_KEY) if has_request_context() else None
    if chosen in languages:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.register_blueprint(bp)
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale())


@bp.post("/lang/<code>")
@public
def switch_language(code: str):
    """Remember the chosen language in the session and go back where the user was."""
    if code in current_app.config["LANGUAGES"]:
        session[SESSION_KEY] = code
    target = request.form.get("next") or ""
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("plans.index")
    return redirect(target)
