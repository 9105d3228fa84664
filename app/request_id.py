"""A request id for every request, in `g`, in the `X-Request-ID` response header and in every log line.

The id comes from an incoming `X-Request-ID` when it is sane (what a proxy such as nginx's
`$request_id` sends: letters, digits and `.-_:`, at most 128 characters), else it is generated. Error
pages show it, so a user can quote it and the operator can find the matching log lines.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid

from flask import Flask, g, has_request_context, request
from flask.logging import default_handler
from flask.typing import ResponseReturnValue

HEADER = "X-Request-ID"
_SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
LOG_FORMAT = "%(asctime)s %(levelname)s [%(process)d] [%(request_id)s] %(name)s: %(message)s"
NO_REQUEST = "-"


def current_request_id() -> str:
    """The id of the current request (taken or made on first use); "-" outside a request."""
    if not has_request_context():
        return NO_REQUEST
    request_id = g.get("request_id")
    if request_id is None:
        incoming = request.headers.get(HEADER, "")
        request_id = incoming if _SANE.fullmatch(incoming) else uuid.uuid4().hex
        g.request_id = request_id
    return request_id


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record it sees (never filters anything out)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (pytest and gunicorn swap it)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def init_app(app: Flask) -> None:
    # First of the before-request hooks, so the id exists even when a later hook answers (e.g. a
    # redirect to sign in) or fails.
    app.before_request_funcs.setdefault(None, []).insert(0, _take_request_id)
    app.after_request(_echo_request_id)
    app.context_processor(lambda: {"request_id": current_request_id()})
    configure_logging(app)


def _take_request_id() -> None:
    current_request_id()


def _echo_request_id(response) -> ResponseReturnValue:
    response.headers[HEADER] = current_request_id()
    return response


def configure_logging(app: Flask) -> None:
    """One stderr handler on the root logger with the request id in its format (added once per
    process), and the filter on the app's logger so its records carry the id to any handler."""
    root = logging.getLogger()
    if not any(isinstance(handler, _StderrHandler) for handler in root.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        handler.addFilter(RequestIdFilter())
        root.addHandler(handler)
    # Flask adds its own handler only when none is configured up the hierarchy; ours now is.
    logger = app.logger
    logger.removeHandler(default_handler)
    if not any(isinstance(f, RequestIdFilter) for f in logger.filters):
        logger.addFilter(RequestIdFilter())
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)
