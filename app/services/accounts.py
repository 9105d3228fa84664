"""User accounts: creating them, checking passwords; the audit rows of signing in and out and of account
changes (never a password nor its hash)."""

from __future__ import annotations

import secrets
import string
from collections.abc import Iterable

from flask import current_app
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models import Role, Unit, User, UserRole
from workflows import audit

USERNAME_LIMIT = 80  # an attempted username is recorded up to this length
PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 200  # what the sign-in form accepts
# Why a new password is refused (password_problem's codes), as the command line says it.
PASSWORD_PROBLEMS = {
    "too_short": f"must have at least {PASSWORD_MIN_LENGTH} characters",
    "too_long": f"must have at most {PASSWORD_MAX_LENGTH} characters",
    "one_kind": "must mix at least two kinds of characters: letters, digits, others",
    "has_username": "must not contain the username",
}
# Generated passwords: letters and digits that cannot be mistaken for one another when read aloud.
_GENERATED_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0OoIl1")


class AccountError(ValueError):
    """A request to create or change an account that cannot be honoured; the message says why."""


def password_problem(password: str, username: str = "") -> str | None:
    """What makes `password` too weak for a new password (a key of PASSWORD_PROBLEMS), or None.

    The same rules for the command line, the administration pages and every other way a password
    is set: long enough, at least two kinds of characters, not the username inside it.
    """
    if len(password) < PASSWORD_MIN_LENGTH:
        return "too_short"
    if len(password) > PASSWORD_MAX_LENGTH:
        return "too_long"
    kinds = {"letter" if c.isalpha() else "digit" if c.isdigit() else "other" for c in password}
    if len(kinds) < 2:
        return "one_kind"
    name = (username or "").strip().lower()
    if len(name) >= 3 and name in password.lower():
        return "has_username"
    return None


def generate_password() -> str:
    """A random password that passes password_problem: four groups of four, e.g. `Xk7p-mQ3r-8vTz-Lw2n`."""
    while True:
        chars = "".join(secrets.choice(_GENERATED_ALPHABET) for _ in range(16))
        if any(c.isdigit() for c in chars) and any(c.isalpha() for c in chars):
            return "-".join(chars[i : i + 4] for i in range(0, 16, 4))


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
        problem = password_problem(password, username)
        if problem:
            raise AccountError(f"password: {PASSWORD_PROBLEMS[problem]}")
        user.password_hash = hash_password(password)
    if user.roles != roles:
        user.role_rows = [UserRole(role=r) for r in roles]
    db.session.flush()
    audit_account_change(user, actor, before, password_changed=not created and user.password_hash != old_hash)
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


def audit_account_change(
    user: User,
    actor: User | None,
    before: dict | None,
    *,
    password_changed: bool = False,
    extra: dict | None = None,
) -> None:
    """`user.created` (before None) or `user.updated` with the snapshots before and after, when
    something changed. `extra` adds facts to the row (e.g. how many API tokens were revoked); never
    a password nor its hash."""
    after = account_snapshot(user)
    if before is None:
        data = {"username": user.username, "after": after, **(extra or {})}
        audit.record(audit.Action.USER_CREATED, actor, None, data=data)
    elif before != after or password_changed:
        data = {
            "username": user.username,
            "before": before,
            "after": after,
            "password_changed": password_changed,
            **(extra or {}),
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
