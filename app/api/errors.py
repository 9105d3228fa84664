"""JSON errors for the API: every failure is `{"error": message, "details": ...}` with its status.

Handlers are registered on the `api` blueprint, so web pages keep their HTML errors. URLs under
/api/ that match no route (404, 405) never reach the blueprint; a before-app-request hook answers
those in JSON instead of an app-wide error handler, so it cannot displace the pages' own handlers.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from app.api import bp
from app.extensions import db
from app.request_id import current_request_id
from workflows.errors import must_try_again

API_PATH_PREFIX = "/api/"

# Short messages for the statuses the API uses; an abort() with its own description overrides them.
MESSAGES = {
    400: "malformed request",
    401: "authentication required",
    403: "not allowed",
    404: "not found",
    405: "method not allowed",
    409: "conflict",
    413: "request too large",
    415: "unsupported media type",
    422: "invalid data",
    429: "too many requests",
    500: "internal error",
}
# A deadlock or serialization failure the database rolled back (workflows.errors.must_try_again).
TRY_AGAIN_MESSAGE = (
    "another change to the same data happened at the same moment; nothing was saved, send it again"
)


class ApiError(Exception):
    """An error a view raises to answer with `status` and `{"error": message, "details": details}`."""

    def __init__(
        self,
        status: int,
        message: str | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message or MESSAGES.get(status, "error"))
        self.status = status
        self.message = message or MESSAGES.get(status, "error")
        self.details = details
        self.headers = headers or {}


def error_response(
    status: int, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> ResponseReturnValue:
    response = jsonify({"error": message, "details": details})
    response.status_code = status
    response.headers.update(headers or {})
    return response


def _message_of(error: HTTPException) -> str:
    """The abort() description when one was given, else the short message for the status."""
    if error.description and error.description != type(error).description:
        return error.description
    return MESSAGES.get(error.code or 500, error.name)


def _headers_of(error: HTTPException) -> dict[str, str]:
    """Headers worth keeping (Allow on 405, Retry-After on 429), without the HTML content type."""
    return {k: v for k, v in error.get_headers() if k.lower() != "content-type"}


def _http_error(error: HTTPException) -> ResponseReturnValue:
    return error_response(error.code or 500, _message_of(error), None, _headers_of(error))


def _api_error(error: ApiError) -> ResponseReturnValue:
    return error_response(error.status, error.message, error.details, error.headers)


def _unexpected_error(error: Exception) -> ResponseReturnValue:
    current_app.logger.exception("Unhandled error in API request %s %s", request.method, request.path)
    return error_response(500, MESSAGES[500], {"request_id": current_request_id()})


def _database_error(error: DBAPIError) -> ResponseReturnValue:
    if not must_try_again(error):
        return _unexpected_error(error)
    db.session.rollback()
    return error_response(409, TRY_AGAIN_MESSAGE, {"retry": True})


def _unrouted_api_request() -> ResponseReturnValue | None:
    """Answer in JSON when a URL under /api/ matches no route, or not with this method."""
    error = request.routing_exception
    if not isinstance(error, HTTPException) or (error.code or 0) < 400:
        return None  # routed normally, or a redirect (e.g. a missing trailing slash)
    if not request.path.startswith(API_PATH_PREFIX):
        return None
    return _http_error(error)


bp.register_error_handler(ApiError, _api_error)
# Per status as well as per class, so an app-wide handler for one status cannot win over these.
for _code in MESSAGES:
    if _code != 500:
        bp.register_error_handler(_code, _http_error)
bp.register_error_handler(HTTPException, _http_error)
bp.register_error_handler(500, _unexpected_error)
bp.register_error_handler(DBAPIError, _database_error)
bp.register_error_handler(Exception, _unexpected_error)
bp.before_app_request(_unrouted_api_request)
