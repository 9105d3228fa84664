"""Sign-in throttling (Flask-Limiter): failed attempts per client address and username, and per address.

The web form and POST /api/v1/auth/token share the counters. Only failed attempts count (a successful
sign-in costs nothing), so colleagues behind one office address do not lock each other out.
The limits are config keys: LOGIN_LIMIT_PER_USERNAME ("10 per minute": one address trying one username) and
LOGIN_LIMIT_PER_ADDRESS ("50 per minute": one address trying any usernames).

Counters live in RATELIMIT_STORAGE_URI: "memory://" (the default) is per process; with several
workers set it from the environment to a shared store, e.g. "memcached://127.0.0.1:11211" (needs the
`pymemcache` package) or "redis://127.0.0.1:6379/0" (needs `redis`).
"""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address)

# The API's 429 message; the web form says it in the user's language (app/auth/routes.py).
TOO_MANY_ATTEMPTS = "too many sign-in attempts, please try again in a few minutes"


def submitted_username() -> str:
    """The username a sign-in request tries (web form field or JSON body), normalised."""
    if request.is_json:
        body = request.get_json(silent=True)
        value = body.get("username") if isinstance(body, dict) else None
    else:
        value = request.form.get("username")
    return str(value or "").strip().lower()[:80]


def address_and_username() -> str:
    return f"{get_remote_address()}|{submitted_username()}"


def per_username_limit() -> str:
    return current_app.config["LOGIN_LIMIT_PER_USERNAME"]


def per_address_limit() -> str:
    return current_app.config["LOGIN_LIMIT_PER_ADDRESS"]


def sign_in_limits(failed, on_breach=None):
    """Decorators throttling a sign-in view; `failed(response)` tells a failed attempt from a success."""
    by_username = limiter.shared_limit(
        per_username_limit,
        "sign-in-username",
        key_func=address_and_username,
        methods=["POST"],
        deduct_when=failed,
        on_breach=on_breach,
        error_message=TOO_MANY_ATTEMPTS,
    )
    by_address = limiter.shared_limit(
        per_address_limit,
        "sign-in-address",
        key_func=get_remote_address,
        methods=["POST"],
        deduct_when=failed,
        on_breach=on_breach,
        error_message=TOO_MANY_ATTEMPTS,
    )

    def decorate(view):
        limited = by_address(by_username(view))
        limited.sign_in_limited = True
        return limited

    return decorate


@limiter.request_filter
def _not_a_sign_in() -> bool:
    """Every other request skips the limiter's per-request work (resolving which limits apply, ~0.1 ms):
    only the sign-in views have limits."""
    view = current_app.view_functions.get(request.endpoint or "")
    return not getattr(view, "sign_in_limited", False)


def init_app(app: Flask) -> None:
    limiter.init_app(app)
