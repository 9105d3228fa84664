"""User accounts: creating them, checking passwords."""

from __future__ import annotations

from collections.abc import Iterable

from flask import current_app
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models import Role, Unit, User, UserRole


class AccountError(ValueError):
    """A request to create or change an account that cannot be honoured; the message says why."""


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


# Checked against when the user does not exist, so both failures take the same time.
_DUMMY_HASH: dict[str, str] = {}


def authenticate(username: str, password: str) -> User | None:
    """The active user with this username and password, or None (the same None for every failure)."""
    user = db.session.scalar(select(User).where(User.username == (username or "").strip()))
    if user is None or not user.active:
        method = current_app.config["PASSWORD_HASH_METHOD"]
        dummy = _DUMMY_HASH.setdefault(method, hash_password("not-a-real-password"))
        check_password_hash(dummy, password or "")
        return None
    if not check_password_hash(user.password_hash, password or ""):
        return None
    return user


def create_or_update_user(
    *,
    username: str,
    password: str | None,
    unit_code: str,
    roles: Iterable[str],
    full_name: str | None = None,
    email: str | None = None,
) -> tuple[User, bool]:
    """Create the account, or bring an existing one to exactly these values. Returns (user, created).

    Running it twice with the same arguments leaves the same account. Does not commit.
    """
    username = (username or "").strip()
    roles = sorted(set(roles))
    if not username:
        raise AccountError("username: must not be empty")
    if not roles:
        raise AccountError("role: give at least one role")
    unknown = [r for r in roles if r not in Role.ALL]
    if unknown:
        raise AccountError(f"role: unknown role {unknown[0]!r}; one of {', '.join(Role.ALL)}")
    unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
    if unit is None:
        raise AccountError(f"unit: unknown unit {unit_code!r}")

    user = db.session.scalar(select(User).where(User.username == username))
    created = user is None
    if created:
        if not password:
            raise AccountError("password: required for a new account")
        user = User(username=username, full_name=full_name or username, active=True)
        db.session.add(user)
    user.unit = unit
    if full_name:
        user.full_name = full_name
    if email is not None:
        user.email = email or None
    if password and (created or not check_password_hash(user.password_hash, password)):
        user.password_hash = hash_password(password)
    if user.roles != roles:
        user.role_rows = [UserRole(role=r) for r in roles]
    db.session.flush()
    return user, created
