"""The demo seed: plan, units and accounts; idempotent; usable for signing in."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import Plan, Task, Unit, User
from app.services.accounts import authenticate
from app.services.demo import DEMO_PLAN_PATH, DEMO_UNITS_PATH, DemoAccount, head_title, seed_demo
from tests.conftest import DEMO_PASSWORD

EXPECTED_ACCOUNTS = [
    ("vp.cv", "Chuyên viên Văn phòng Sở", "VP", ("specialist",)),
    ("vp.tp", "Chánh Văn phòng Sở", "VP", ("unit_head",)),
    ("khtc.cv", "Chuyên viên Bộ phận Kế hoạch Tài chính", "KHTC", ("specialist",)),
    ("khtc.tp", "Phụ trách Bộ phận Kế hoạch Tài chính", "KHTC", ("unit_head",)),
    ("cntt.cv", "Chuyên viên Phòng Công nghệ thông tin", "CNTT", ("specialist",)),
    ("cntt.tp", "Trưởng phòng Công nghệ thông tin", "CNTT", ("unit_head",)),
    ("hts.cv", "Chuyên viên Phòng Hạ tầng số và Tiêu chuẩn chất lượng", "HTS", ("specialist",)),
    ("hts.tp", "Trưởng phòng Hạ tầng số và Tiêu chuẩn chất lượng", "HTS", ("unit_head",)),
    ("qlkh.cv", "Chuyên viên Phòng Quản lý khoa học", "QLKH", ("specialist",)),
    ("qlkh.tp", "Trưởng phòng Quản lý khoa học", "QLKH", ("unit_head",)),
    ("qlcn.cv", "Chuyên viên Phòng Quản lý Công nghệ và Sở hữu trí tuệ", "QLCN", ("specialist",)),
    ("qlcn.tp", "Trưởng phòng Quản lý Công nghệ và Sở hữu trí tuệ", "QLCN", ("unit_head",)),
    ("ttcntt.cv", "Chuyên viên Trung tâm Công nghệ thông tin", "TTCNTT", ("specialist",)),
    ("ttcntt.tp", "Giám đốc Trung tâm Công nghệ thông tin", "TTCNTT", ("unit_head",)),
    (
        "ttud.cv",
        "Chuyên viên Trung tâm Ứng dụng khoa học công nghệ và Đổi mới sáng tạo",
        "TTUD",
        ("specialist",),
    ),
    (
        "ttud.tp",
        "Giám đốc Trung tâm Ứng dụng khoa học công nghệ và Đổi mới sáng tạo",
        "TTUD",
        ("unit_head",),
    ),
    ("giamdoc", "Giám đốc Sở", "LDS", ("leader",)),
    ("giamsat", "Cán bộ giám sát", "SKHCN_HD", ("supervisor",)),
    ("admin", "Quản trị hệ thống", "CNTT", ("admin",)),
    # communes (app/data/commune-demo.yaml): the commune office's specialist and the chairman
    ("pthd.cv", "Chuyên viên Văn phòng HĐND-UBND phường Trần Hưng Đạo", "PTHD_VP", ("specialist",)),
    ("pthd.ct", "Chủ tịch UBND phường Trần Hưng Đạo", "PTHD", ("unit_head",)),
    ("xat.cv", "Chuyên viên Văn phòng HĐND-UBND xã An Thượng", "XAT_VP", ("specialist",)),
    ("xat.ct", "Chủ tịch UBND xã An Thượng", "XAT", ("unit_head",)),
    ("pnt.cv", "Chuyên viên Văn phòng HĐND-UBND phường Nguyễn Trãi", "PNT_VP", ("specialist",)),
    ("pnt.ct", "Chủ tịch UBND phường Nguyễn Trãi", "PNT", ("unit_head",)),
]
COMMUNE_UNITS = {"PTHD", "PTHD_VP", "XAT", "XAT_VP", "PNT", "PNT_VP"}


def dump_database() -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order."""
    return {
        table.name: [tuple(row) for row in db.session.execute(select(table).order_by(*table.primary_key))]
        for table in db.metadata.sorted_tables
    }


def test_demo_files_live_inside_the_package():
    package = DEMO_PLAN_PATH.parents[1]
    assert package.name == "app"
    assert DEMO_PLAN_PATH.is_file() and DEMO_UNITS_PATH.is_file()
    assert DEMO_UNITS_PATH.parent == package / "data"


def test_seed_into_empty_database(empty_app):
    accounts = seed_demo(DEMO_PASSWORD)
    db.session.commit()
    assert [tuple(a) for a in accounts] == EXPECTED_ACCOUNTS
    assert all(isinstance(a, DemoAccount) for a in accounts)
    assert db.session.scalar(select(func.count()).select_from(Plan)) == 1
    assert db.session.scalar(select(func.count()).select_from(Task).where(Task.kind == "plan")) == 28
    assert db.session.scalar(select(func.count()).select_from(Task).where(Task.kind == "report")) == 9
    assert db.session.scalar(select(func.count()).select_from(Unit)) == 23 + 12  # + 3 communes, 9 offices


def test_seeded_accounts_match_the_list(app):
    users = db.session.scalars(select(User).order_by(User.id)).all()
    stored = [(u.username, u.full_name, u.unit.code, tuple(u.roles)) for u in users]
    assert stored == EXPECTED_ACCOUNTS
    emails = dict(db.session.execute(select(User.username, User.email)).all())
    assert emails["cntt.cv"] == "cntt.cv@skhcn.haiduong.gov.vn"
    assert emails == {u.username: f"{u.username}@skhcn.haiduong.gov.vn" for u in users}
    assert all(u.active for u in users)


def test_staffed_units_other_than_leadership_each_get_a_specialist_and_a_head(app):
    codes = {a[2] for a in EXPECTED_ACCOUNTS if a[3] in (("specialist",), ("unit_head",))} - COMMUNE_UNITS
    assert codes == {"VP", "KHTC", "CNTT", "HTS", "QLKH", "QLCN", "TTCNTT", "TTUD"}


def test_seeding_twice_changes_nothing(app):
    before = dump_database()
    accounts = seed_demo(DEMO_PASSWORD)
    db.session.commit()
    assert [tuple(a) for a in accounts] == EXPECTED_ACCOUNTS
    assert dump_database() == before


def test_seed_does_not_commit(empty_app):
    seed_demo(DEMO_PASSWORD)
    db.session.rollback()
    assert all(rows == [] for rows in dump_database().values())


def test_demo_users_can_sign_in(app):
    for username, *_ in EXPECTED_ACCOUNTS:
        user = authenticate(username, DEMO_PASSWORD)
        assert user is not None and user.username == username
    assert authenticate("cntt.cv", "wrong-password") is None


def test_head_titles():
    assert head_title("division", "Phòng Công nghệ thông tin") == "Trưởng phòng Công nghệ thông tin"
    assert head_title("office", "Văn phòng Sở") == "Chánh Văn phòng Sở"
    assert head_title("centre", "Trung tâm Công nghệ thông tin") == "Giám đốc Trung tâm Công nghệ thông tin"
    assert head_title("sub_unit", "Bộ phận Kế hoạch Tài chính") == "Phụ trách Bộ phận Kế hoạch Tài chính"


def test_cli_seed_demo_prints_accounts_password_and_url(empty_app):
    result = empty_app.test_cli_runner().invoke(args=["seed", "demo"])
    assert result.exit_code == 0, result.output
    assert "cntt.cv" in result.output
    assert "Trưởng phòng Công nghệ thông tin" in result.output
    assert DEMO_PASSWORD in result.output
    assert "http://127.0.0.1:5000" in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == len(EXPECTED_ACCOUNTS)


def test_cli_seed_demo_twice_changes_nothing(app, runner):
    before = dump_database()
    result = runner.invoke(args=["seed", "demo"])
    assert result.exit_code == 0, result.output
    assert dump_database() == before
