"""Administering accounts from the browser: listing, creating, editing, (de)activating, resetting passwords.

Every change goes through app.services.accounts (create_or_update_user, audit_account_change): one
`user.created` / `user.updated` audit row with the account before and after, the administrator as
actor, never a password. The rules that keep the system usable are here, not in the views:
an administrator cannot lock themselves out, and the last active administrator stays one.
Nothing here commits: the caller commits, or rolls back on AdminError.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select

from app.extensions import db
from app.models import ApiToken, Role, Unit, UnitKind, User, UserRole
from app.services.accounts import (
    AccountError,
    account_snapshot,
    audit_account_change,
    create_or_update_user,
    generate_password,
    hash_password,
    password_problem,
)

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
USERNAME_MAX = 80
LIST_LIMIT = 500
# The units people belong to: the department itself and its staffed units (not groups nor outside bodies).
MEMBER_UNIT_KINDS = (UnitKind.DEPARTMENT, *UnitKind.STAFFED, *UnitKind.COMMUNE_KINDS)


class AdminError(Exception):
    """A change the rules refuse. `field`: the form field it is about (None: the whole change);
    `code`: why (see app/user_admin/forms.py MESSAGES); `params`: numbers or names for the message."""

    def __init__(self, field: str | None, code: str, params: dict | None = None):
        super().__init__(f"{field or '-'}: {code}")
        self.field = field
        self.code = code
        self.params = params or {}


@dataclass(frozen=True)
class UserFilter:
    search: str = ""
    unit: str = ""
    status: str = ""  # "" all, "active", "inactive"


def list_users(user_filter: UserFilter) -> list[User]:
    """Users matching the filter (name or username contains `search`; in unit `unit`), by unit then name."""
    query = select(User).join(User.unit)
    text = user_filter.search.strip()
    if text:
        pattern = f"%{_escape_like(text)}%"
        query = query.where(
            or_(User.username.ilike(pattern, escape="\\"), User.full_name.ilike(pattern, escape="\\"))
        )
    if user_filter.unit:
        query = query.where(Unit.code == user_filter.unit)
    if user_filter.status in ("active", "inactive"):
        query = query.where(User.active.is_(user_filter.status == "active"))
    return list(
        db.session.scalars(query.order_by(Unit.name, User.full_name, User.username).limit(LIST_LIMIT))
    )


def member_units(current: Unit | None = None) -> list[Unit]:
    """The active units a person may belong to, plus `current` (a user's own unit, even if inactive)."""
    units = list(
        db.session.scalars(
            select(Unit).where(Unit.kind.in_(MEMBER_UNIT_KINDS), Unit.active.is_(True)).order_by(Unit.id)
        )
    )
    if current is not None and current not in units:
        units.append(current)
    return units


def filter_units() -> list[Unit]:
    """Every unit people belong to, deactivated ones too (for filtering the list)."""
    query = select(Unit).where(Unit.kind.in_(MEMBER_UNIT_KINDS)).order_by(Unit.id)
    return list(db.session.scalars(query))


def create_user(
    actor: User,
    *,
    username: str,
    full_name: str,
    email: str | None,
    unit_code: str,
    roles: Iterable[str],
    password: str | None,
) -> tuple[User, str | None]:
    """A new active account. `password` None: one is generated and returned (to be shown once).
    Audited `user.created` by `actor`."""
    username = (username or "").strip().lower()
    if not USERNAME_PATTERN.match(username) or len(username) > USERNAME_MAX:
        raise AdminError("username", "username_format")
    if db.session.scalar(select(User.id).where(func.lower(User.username) == username)) is not None:
        raise AdminError("username", "username_taken")
    roles = _checked_roles(roles)
    unit = _member_unit(unit_code, None)
    generated = None
    if password is None:
        password = generated = generate_password()
    else:
        _check_password(password, username)
    user, _ = _save(actor, username, password, unit, roles, full_name, email)
    return user, generated


def update_user(
    actor: User,
    user: User,
    *,
    full_name: str,
    email: str | None,
    unit_code: str,
    roles: Iterable[str],
) -> bool:
    """Change name, e-mail, unit and roles. Says whether anything changed (audited `user.updated`)."""
    roles = _checked_roles(roles)
    unit = _member_unit(unit_code, user.unit)
    if Role.ADMIN in user.roles and Role.ADMIN not in roles:
        if user.id == actor.id:
            raise AdminError("roles", "own_admin_role")
        if user.active and _other_active_admins(user) == 0:
            raise AdminError("roles", "last_admin")
    before = account_snapshot(user)
    _save(actor, user.username, None, unit, roles, full_name, email)
    return account_snapshot(user) != before


def deactivate_user(actor: User, user: User) -> int | None:
    """Deactivate the account: it can no longer sign in, and its API tokens are revoked. Returns how many
    tokens were revoked, or None when it was inactive already (nothing written)."""
    if user.id == actor.id:
        raise AdminError(None, "self_deactivate")
    if not user.active:
        return None
    if Role.ADMIN in user.roles and _other_active_admins(user) == 0:
        raise AdminError(None, "last_admin")
    before = account_snapshot(user)
    user.active = False
    revoked = revoke_tokens(user)
    db.session.flush()
    audit_account_change(user, actor, before, extra={"change": "deactivated", "tokens_revoked": revoked})
    return revoked


def reactivate_user(actor: User, user: User) -> bool:
    """Let the account sign in again (its unit must be active). False when it was active already."""
    if user.active:
        return False
    if not user.unit.active:
        raise AdminError(None, "unit_inactive", {"unit": user.unit.name})
    before = account_snapshot(user)
    user.active = True
    db.session.flush()
    audit_account_change(user, actor, before, extra={"change": "reactivated"})
    return True


def reset_password(actor: User, user: User, password: str | None) -> str | None:
    """Set a new password (`password` None: a generated one, returned to be shown once). The user's API
    tokens are revoked. Audited `user.updated` with password_changed, without the password."""
    generated = None
    if password is None:
        password = generated = generate_password()
    else:
        _check_password(password, user.username)
    before = account_snapshot(user)
    user.password_hash = hash_password(password)
    revoked = revoke_tokens(user)
    db.session.flush()
    extra = {"change": "password_reset", "tokens_revoked": revoked}
    audit_account_change(user, actor, before, password_changed=True, extra=extra)
    return generated


def revoke_tokens(user: User) -> int:
    """Delete the user's API tokens; how many there were."""
    result = db.session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
    return result.rowcount or 0


def admin_count() -> int:
    """Active administrators."""
    query = (
        select(func.count(User.id))
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.ADMIN, User.active.is_(True))
    )
    return db.session.scalar(query) or 0


def _other_active_admins(user: User) -> int:
    query = (
        select(func.count(User.id))
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.ADMIN, User.active.is_(True), User.id != user.id)
    )
    return db.session.scalar(query) or 0


def _checked_roles(roles: Iterable[str]) -> list[str]:
    roles = sorted(set(roles))
    if not roles:
        raise AdminError("roles", "roles_missing")
    if any(role not in Role.ALL for role in roles):
        raise AdminError("roles", "role_unknown")
    return roles


def _member_unit(code: str, current: Unit | None) -> Unit:
    unit = db.session.scalar(select(Unit).where(Unit.code == (code or "").strip()))
    if unit is None or unit.kind not in MEMBER_UNIT_KINDS:
        raise AdminError("unit", "unit_unknown")
    if not unit.active and unit != current:
        raise AdminError("unit", "unit_inactive", {"unit": unit.name})
    return unit


def _check_password(password: str, username: str) -> None:
    problem = password_problem(password, username)
    if problem:
        raise AdminError("password", f"password_{problem}")


def _save(
    actor: User,
    username: str,
    password: str | None,
    unit: Unit,
    roles: list[str],
    full_name: str,
    email: str | None,
) -> tuple[User, bool]:
    full_name = (full_name or "").strip()
    if not full_name:
        raise AdminError("full_name", "full_name_missing")
    try:
        return create_or_update_user(
            username=username,
            password=password,
            unit_code=unit.code,
            roles=roles,
            full_name=full_name,
            email=(email or "").strip() or "",
            actor=actor,
        )
    except AccountError as error:  # the checks above come first: this is a safety net
        raise AdminError(None, "not_accepted") from error


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
