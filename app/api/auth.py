"""Bearer-token authentication for the whole API, deny by default.

Every view of the `api` blueprint needs `Authorization: Bearer <token>` unless it is marked with
`token_not_required` (only the token endpoint itself is). The holder is `g.api_user`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import current_app, g, request
from flask.typing import ResponseReturnValue

from app.api import bp
from app.api.errors import error_response
from app.models import User
from app.services.api_tokens import user_for_token

F = TypeVar("F", bound=Callable)

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="tien-do"'}


def token_not_required(view: F) -> F:
    """Mark an API view as reachable without a token."""
    view.api_token_not_required = True  # type: ignore[attr-defined]
    return view


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    scheme, _, value = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def current_api_user() -> User:
    """The user whose token authenticated this request."""
    return g.api_user


@bp.before_request
def _require_token() -> ResponseReturnValue | None:
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "api_token_not_required", False):
        return None
    token = bearer_token(request.headers.get("Authorization"))
    if token is None:
        return error_response(401, "missing bearer token", headers=CHALLENGE)
    user = user_for_token(token)
    if user is None:
        return error_response(401, "invalid or expired token", headers=CHALLENGE)
    g.api_user = user
    return None
