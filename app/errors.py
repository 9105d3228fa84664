"""Error pages for people (HTML); paths under /api/ get the API's JSON error shape instead.

app/api/errors.py answers the API's own errors (and its unknown URLs) in JSON; should an /api/ error
still reach these application-wide handlers, it gets the same JSON shape, never an HTML page.
"""

from __future__ import annotations

from flask import Flask, jsonify, make_response, render_template, request
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from app.api.errors import MESSAGES as API_MESSAGES
from app.api.errors import TRY_AGAIN_MESSAGE, error_response
from app.extensions import db
from app.request_id import current_request_id
from workflows.errors import must_try_again

HTML_PAGES = {
    403: "errors/403.html",
    404: "errors/404.html",
    405: "errors/405.html",
    413: "errors/413.html",
    500: "errors/500.html",
}


def init_app(app: Flask) -> None:
    for status in HTML_PAGES:
        app.register_error_handler(status, handle_error)
    app.register_error_handler(DBAPIError, handle_database_error)


def handle_error(error: HTTPException):
    status = error.code or 500
    if request.path.startswith("/api/"):
        details = {"request_id": current_request_id()} if status == 500 else None
        response = jsonify(error=API_MESSAGES.get(status, "error"), details=details)
    else:
        response = make_response(render_template(HTML_PAGES[status], error=error))
    response.status_code = status
    allowed = getattr(error, "valid_methods", None)
    if status == 405 and allowed:
        response.headers["Allow"] = ", ".join(allowed)
    return response


def handle_database_error(error: DBAPIError):
    """A deadlock or serialization failure (workflows.errors.must_try_again): the database rolled the
    request's transaction back, so nothing was saved; a 409 page says to send it again. Any other
    database error goes on to the 500 page (and the log)."""
    if not must_try_again(error):
        raise error
    db.session.rollback()
    if request.path.startswith("/api/"):
        return error_response(409, TRY_AGAIN_MESSAGE, {"retry": True})
    return render_template("errors/409.html"), 409
