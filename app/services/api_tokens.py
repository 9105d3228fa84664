"""Bearer tokens of the JSON API: issuing them and finding who holds one.

Only a SHA-256 of each token is stored, so a copy of the database does not hand out sessions.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import ApiToken, User
from app.services.clock import as_utc, utcnow


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


# Built once (every API request runs it): SQLAlchemy keeps a statement's cache key on the statement, so
# a reused one skips building the query and its key again. The holder is read with the token's expiry
# (not the token row itself), with the roles every guard asks for.
_TOKEN_HOLDER = (
    select(User, ApiToken.expires_at)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
    .options(joinedload(User.role_rows))
)


def user_for_token(token: str) -> User | None:
    """The active user holding this unexpired token, or None."""
    if not token:
        return None
    row = db.session.execute(_TOKEN_HOLDER, {"token_hash": hash_token(token)}).unique().first()
    if row is None or as_utc(row.expires_at) <= utcnow():
        return None
    user = row.User
    return user if user is not None and user.active else None
