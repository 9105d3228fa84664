"""User accounts: creating them, checking passwords; the audit rows of signing in and out and of account
changes (never a password nor its hash)."""

from __future__ import annotations

from collections.abc import Iterable

from flask import current_app
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models import Role, Unit, User, UserRole
from workflows import audit

USERNAME_LIMIT = 80  # an attempted username is recorded up to this length


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
    actor: User | None = None,
) -> tuple[User, bool]:
    """Create the account, or bring an existing one to exactly these values. Returns (user, created).

    Running it twice with the same arguments leaves the same account. Audited as `user.created`, or
    `user.updated` when something changed, by `actor` (None: the system, e.g. the command line).
    Does not commit.
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
    before = None if created else account_snapshot(user)
    old_hash = None if created else user.password_hash
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
    _audit_account(user, actor, before, password_changed=not created and user.password_hash != old_hash)
    return user, created


def account_snapshot(user: User) -> dict:
    """What an account change audit row shows of the account: never the password hash."""
    return {
        "full_name": user.full_name,
        "unit": user.unit.code if user.unit else None,
        "roles": sorted(user.roles),
        "email": user.email,
        "active": user.active,
    }


def _audit_account(user: User, actor: User | None, before: dict | None, password_changed: bool) -> None:
    after = account_snapshot(user)
    if before is None:
        audit.record(audit.Action.USER_CREATED, actor, None, data={"username": user.username, "after": after})
    elif before != after or password_changed:
        data = {
            "username": user.username,
            "before": before,
            "after": after,
            "password_changed": password_changed,
        }
        audit.record(audit.Action.USER_UPDATED, actor, None, data=data)


def record_access(
    action: str, user: User | None, *, ip: str | None, channel: str, username: str = ""
) -> None:
    """Audit a sign-in, a sign-out, a token issued (`user` the account) or a failed attempt (`user` None,
    `username` what was typed, cut to USERNAME_LIMIT; never the password). `channel`: "web" or "api".
    Does not commit."""
    data = {"ip": ip, "channel": channel}
    if user is None:
        data["username"] = (username if isinstance(username, str) else "").strip()[:USERNAME_LIMIT]
    audit.record(action, user, None, data=data)
