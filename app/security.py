"""Who may reach which view: every web page needs a signed-in user unless marked public.

The check is deny-by-default: a new view is protected without anyone remembering to protect it.
The JSON API (blueprint `api`) authenticates bearer tokens itself and answers 401 in JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Flask, current_app, request
from flask_login import current_user

from app.extensions import db, login_manager

F = TypeVar("F", bound=Callable)

LOGIN_VIEW = "auth.login"


def public(view: F) -> F:
    """Mark a view as reachable without signing in."""
    view.is_public = True  # type: ignore[attr-defined]
    return view


def init_app(app: Flask) -> None:
    login_manager.login_view = LOGIN_VIEW
    login_manager.login_message = None  # the sign-in page explains itself
    login_manager.session_protection = "strong"
    login_manager.user_loader(_load_user)
    app.before_request(_require_sign_in)


def _load_user(user_id: str):
    from app.models import User

    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.active else None


def _require_sign_in():
    if request.endpoint is None or request.blueprint == "api":
        return None  # 404s stay 404s; the API has its own token check
    view = current_app.view_functions.get(request.endpoint)
    if view is None or getattr(view, "is_public", False) or request.endpoint == "static":
        return None
    if current_user.is_authenticated:
        return None
    return login_manager.unauthorized()
