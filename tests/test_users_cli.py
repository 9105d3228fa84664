"""`flask users create`: creates, updates, refuses bad input without writing."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import User
from app.services.accounts import authenticate
from tests.conftest import DEMO_PASSWORD

NEW_USER = [
    "users",
    "create",
    "--username",
    "qlkh.cv2",
    "--password",
    "s3cret-pass",
    "--unit",
    "QLKH",
    "--role",
    "specialist",
    "--full-name",
    "Nguyễn Thị Hoa",
    "--email",
    "hoa@skhcn.haiduong.gov.vn",
]


def user(username: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.username == username))


def user_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def dump_users() -> list[tuple]:
    db.session.expire_all()
    users = db.session.scalars(select(User).order_by(User.id)).all()
    return [(u.username, u.full_name, u.email, u.unit_id, u.password_hash, tuple(u.roles)) for u in users]


def test_create_user(runner):
    result = runner.invoke(args=NEW_USER)
    assert result.exit_code == 0, result.output
    assert "qlkh.cv2: created" in result.output
    created = user("qlkh.cv2")
    assert (created.full_name, created.email, created.unit.code, created.roles) == (
        "Nguyễn Thị Hoa",
        "hoa@skhcn.haiduong.gov.vn",
        "QLKH",
        ["specialist"],
    )
    assert authenticate("qlkh.cv2", "s3cret-pass").username == "qlkh.cv2"


def test_create_is_idempotent(runner):
    assert runner.invoke(args=NEW_USER).exit_code == 0
    before = dump_users()
    result = runner.invoke(args=NEW_USER)
    assert result.exit_code == 0, result.output
    assert "qlkh.cv2: unchanged" in result.output
    assert dump_users() == before


def test_rerun_with_changes_updates(runner):
    assert runner.invoke(args=NEW_USER).exit_code == 0
    roles = ["--role", "specialist", "--role", "unit_head"]
    result = runner.invoke(args=["users", "create", "--username", "qlkh.cv2", "--unit", "QLKH", *roles])
    assert result.exit_code == 0, result.output
    assert "qlkh.cv2: updated" in result.output
    assert user("qlkh.cv2").roles == ["specialist", "unit_head"]
    assert authenticate("qlkh.cv2", "s3cret-pass") is not None


def test_existing_demo_user_keeps_password_when_none_given(runner):
    before = user("cntt.cv").password_hash
    args = ["users", "create", "--username", "cntt.cv", "--unit", "HTS", "--role", "specialist"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "cntt.cv: updated" in result.output
    assert user("cntt.cv").unit.code == "HTS"
    assert user("cntt.cv").password_hash == before
    assert authenticate("cntt.cv", DEMO_PASSWORD) is not None


def test_unknown_unit_is_refused_without_writing(runner):
    before = user_count()
    args = [a if a != "QLKH" else "NOPE" for a in NEW_USER]
    result = runner.invoke(args=args)
    assert result.exit_code == 1
    assert "error: unit: unknown unit 'NOPE'" in result.stderr
    assert user("qlkh.cv2") is None
    assert user_count() == before


def test_unknown_role_is_refused_without_writing(runner):
    before = user_count()
    args = [a if a != "specialist" else "boss" for a in NEW_USER]
    result = runner.invoke(args=args)
    assert result.exit_code == 1
    assert "error: role: unknown role 'boss'" in result.stderr
    assert user("qlkh.cv2") is None
    assert user_count() == before


def test_missing_role_and_missing_password_are_refused(runner):
    no_role = ["users", "create", "--username", "x.cv", "--password", "pw-123456", "--unit", "CNTT"]
    result = runner.invoke(args=no_role)
    assert result.exit_code == 1
    assert "role: give at least one role" in result.stderr
    no_password = ["users", "create", "--username", "x.cv", "--unit", "CNTT", "--role", "specialist"]
    result = runner.invoke(args=no_password)
    assert result.exit_code == 1
    assert "password: required for a new account" in result.stderr
    assert user("x.cv") is None
