"""Bearer tokens of the JSON API: issuing them and finding who holds one.

Only a SHA-256 of each token is stored, so a copy of the database does not hand out sessions.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, select
from sqlalchemy.orm.attributes import set_committed_value

from app.extensions import db
from app.models import ApiToken, Unit, User, UserRole
from app.services.clock import as_utc, utcnow
from workflows.row_reads import RowShape, row_objects


def hash_token(token: str) -> str:
    """The SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(user: User) -> tuple[str, datetime]:
    """A new token for the user and when it expires (aware, UTC). Does not commit."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    expires_at = now + timedelta(seconds=current_app.config["API_TOKEN_TTL_SECONDS"])
    db.session.add(ApiToken(token_hash=hash_token(token), user=user, created_at=now, expires_at=expires_at))
    return token, expires_at


# Every API request reads the token's holder: one statement of plain columns (the user, the user's unit,
# one row per role, the token's expiry) made into the session's objects (workflows/row_reads.py; the
# ORM's loader costs 0.15 ms more). Built once: a reused statement keeps its cache key.
_HOLDER_SHAPES = (RowShape(User), RowShape(Unit), RowShape(UserRole))
_USERS, _UNITS, _ROLES, _TOKENS = (model.__table__ for model in (User, Unit, UserRole, ApiToken))
_TOKEN_HOLDER = (
    select(*(column for shape in _HOLDER_SHAPES for column in shape.columns), _TOKENS.c.expires_at)
    .select_from(
        _TOKENS.join(_USERS, _USERS.c.id == _TOKENS.c.user_id)
        .join(_UNITS, _UNITS.c.id == _USERS.c.unit_id)
        .outerjoin(_ROLES, _ROLES.c.user_id == _USERS.c.id)
    )
    .where(_TOKENS.c.token_hash == bindparam("token_hash"))
    .order_by(_ROLES.c.role)
)


def user_for_token(token: str) -> User | None:
    """The active user holding this unexpired token, or None."""
    if not token:
        return None
    session = db.session()
    rows = session.execute(_TOKEN_HOLDER, {"token_hash": hash_token(token)}).all()
    if not rows or as_utc(rows[0].expires_at) <= utcnow():
        return None
    (user, new), (unit, _), _ = row_objects(session, rows[0], _HOLDER_SHAPES)
    if new:
        set_committed_value(user, "unit", unit)
        roles = [row_objects(session, row, _HOLDER_SHAPES)[2][0] for row in rows]
        set_committed_value(user, "role_rows", [role for role in roles if role is not None])
    return user if user.active else None
