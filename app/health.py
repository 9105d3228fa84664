"""`GET /healthz`: is the database reachable and its schema at the newest migration?

For load balancers and monitoring, so it is public and says nothing about internals: failures are
logged (with the request id) and answered with a fixed word, never an exception's text.
"""

from __future__ import annotations

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from app.extensions import db
from app.security import public

bp = Blueprint("health", __name__)

_HEADS_KEY = "tien_do_migration_heads"


@bp.get("/healthz")
@public
def healthz() -> ResponseReturnValue:
    heads = _migration_heads()
    database, current = "ok", None
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = sorted(MigrationContext.configure(connection).get_current_heads())
    except Exception:
        current_app.logger.exception("Health check: the database is unreachable")
        database = "unreachable"
    up_to_date = database == "ok" and current == heads
    body = {
        "status": "ok" if up_to_date else "error",
        "database": database,
        "migrations": {"current": _one(current), "head": _one(heads), "up_to_date": up_to_date},
    }
    if database == "ok" and not up_to_date:
        current_app.logger.warning("Health check: migrations at %s, head is %s", current, heads)
    response = jsonify(body)
    response.status_code = 200 if up_to_date else 503
    response.headers["Cache-Control"] = "no-store"
    return response


def _migration_heads() -> list[str]:
    """The head revision(s) of the shipped migrations, read once per app."""
    heads = current_app.extensions.get(_HEADS_KEY)
    if heads is None:
        script = ScriptDirectory(str(current_app.config["MIGRATIONS_DIR"]))
        heads = current_app.extensions[_HEADS_KEY] = sorted(script.get_heads())
    return heads


def _one(revisions: list[str] | None) -> str | list[str] | None:
    """A single revision as itself (the usual case), several (branches) as a list, none as null."""
    if not revisions:
        return None
    return revisions[0] if len(revisions) == 1 else revisions
