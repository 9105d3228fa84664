"""Bad input gets a 4xx, never a 5xx: bounded integer ids in URLs, no JSON nesting bombs.

- `<int:...>` in every route accepts only 0 .. 2**31-1, the range of an INTEGER key on every
  database we run on: a larger number (PostgreSQL raises DataError, SQLite OverflowError) is a 404
  like any other unknown id.
- A query string with raw bytes that are not UTF-8 (werkzeug would fail decoding it) has those bytes
  percent-encoded before the app sees it, so they read as the invalid escapes they are.
- JSON bodies nested deeper than MAX_JSON_DEPTH (or deep enough to exhaust Python's recursion
  limit) are refused as malformed, like any other JSON that cannot be parsed.
- NUL characters, which no text of ours contains and PostgreSQL refuses to store or compare, are
  refused in JSON strings, query arguments and form fields with a 400.
- NaN and Infinity, which Python's json reads but JSON does not have (PostgreSQL's json type refuses
  them), are malformed JSON: a 400.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask, abort, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter

MAX_DATABASE_ID = 2**31 - 1
MAX_JSON_DEPTH = 64


def at_most_pattern(limit: int) -> str:
    """A regular expression for the decimal numbers 0 .. limit (leading zeros within the length allowed)."""
    digits = str(limit)
    options = [rf"\d{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    for position, digit in enumerate(digits):
        if digit != "0":
            rest = len(digits) - position - 1
            tail = rf"\d{{{rest}}}" if rest else ""
            options.append(f"{digits[:position]}[0-{int(digit) - 1}]{tail}")
    options.append(digits)
    return "(?:" + "|".join(options) + ")"


class DatabaseIdConverter(IntegerConverter):
    """`int`, bounded to what an INTEGER column holds (a tighter `max` given in the rule still wins).

    The bound is in the pattern, not only in `max`: werkzeug answers a failed conversion with 405 when
    another rule of the same path takes other methods; a URL that does not match is a plain 404.
    """

    regex = at_most_pattern(MAX_DATABASE_ID)

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):  # noqa: A002
        super().__init__(
            map,
            fixed_digits=fixed_digits,
            min=min,
            max=MAX_DATABASE_ID if max is None else max,
            signed=signed,
        )


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, except that a too deeply nested document is a ValueError (a malformed body)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        kwargs.setdefault("parse_constant", _refuse_non_finite)
        try:
            value = super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None
        text = s if isinstance(s, str) else s.decode(json.detect_encoding(s), "surrogatepass")
        # Walk the value only when the text could hold what is refused: more brackets than the depth
        # limit, or an escaped NUL (a raw one is already a parse error).
        if text.count("[") + text.count("{") > MAX_JSON_DEPTH and _depth_exceeds(value, MAX_JSON_DEPTH):
            raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        if "\\u0000" in text and _has_nul(value):
            raise ValueError("NUL characters are not allowed")
        return value


def _refuse_non_finite(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _has_nul(value: Any) -> bool:
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                return True
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def refuse_nul_in_arguments() -> None:
    """400 for a NUL character in any query argument or form field (name or value)."""
    for values in (request.args, request.form if request.mimetype != "application/json" else {}):
        for key, value in values.items(multi=True) if values else ():
            if "\x00" in key or "\x00" in value:
                abort(400, description="NUL characters are not allowed")


def _depth_exceeds(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


_HIGH_BYTE = re.compile(rb"[\x80-\xff]")


class NonUtf8QueryGuard:
    """WSGI middleware: percent-encode the high bytes of a query string that is not valid UTF-8."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        query = environ.get("QUERY_STRING", "")
        if query and not query.isascii():
            raw = query.encode("latin-1", "replace")
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                quoted = _HIGH_BYTE.sub(lambda match: b"%%%02X" % match.group()[0], raw)
                environ["QUERY_STRING"] = quoted.decode("ascii")
        return self.wsgi_app(environ, start_response)


def init_app(app: Flask) -> None:
    """Call before the blueprints are registered (their rules bind the converter then)."""
    app.wsgi_app = NonUtf8QueryGuard(app.wsgi_app)
    app.before_request(refuse_nul_in_arguments)
    app.url_map.converters["int"] = DatabaseIdConverter
    ensure_ascii = app.json.ensure_ascii
    app.json = BoundedJSONProvider(app)
    app.json.ensure_ascii = ensure_ascii
