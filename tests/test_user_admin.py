"""Users and units administration in the browser (/admin/users, /admin/units): admins only, CSRF,
every change audited with the account or unit before and after (never a password), and the rules
that keep the system usable (no self-lockout, no deactivating a unit that is still in use)."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import ApiToken, AuditEvent, Task, Unit, User
from app.services.accounts import authenticate
from app.services.unit_admin import deactivation_blockers
from app.throttle import limiter
from tests.conftest import DEMO_PASSWORD, csrf_token_from
from workflows.engine import start_process

NEW_PASSWORD = "Mật-khẩu-mới-2025"
NEW_USER = {
    "username": "qlkh.cv2",
    "full_name": "Nguyễn Thị Hoa",
    "email": "hoa@skhcn.haiduong.gov.vn",
    "unit": "QLKH",
    "roles": ["specialist", "unit_head"],
    "password": NEW_PASSWORD,
}
NEW_UNIT = {
    "code": "PHONG_MOI",
    "name": "Phòng Đổi mới sáng tạo",
    "short_name": "Phòng ĐMST",
    "kind": "division",
    "parent": "SKHCN_HD",
    "aliases": "Phòng Đổi mới\nPhòng ĐMST",
}


@pytest.fixture(autouse=True)
def _fresh_limits(app):
    limiter.reset()
    yield


def user(username: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.username == username))


def unit(code: str) -> Unit | None:
    db.session.expire_all()
    return db.session.scalar(select(Unit).where(Unit.code == code))


def audit_rows(*actions: str) -> list[AuditEvent]:
    db.session.expire_all()
    query = select(AuditEvent).where(AuditEvent.action.in_(actions)).order_by(AuditEvent.id)
    return list(db.session.scalars(query))


def state() -> tuple:
    """Everything an administration request could change."""
    db.session.expire_all()
    users = [
        (u.username, u.full_name, u.email, u.unit_id, u.active, u.password_hash, tuple(u.roles))
        for u in db.session.scalars(select(User).order_by(User.id))
    ]
    units = [
        (u.code, u.name, u.short_name, u.kind, u.parent_id, tuple(u.aliases or []), u.active)
        for u in db.session.scalars(select(Unit).order_by(Unit.id))
    ]
    counts = [db.session.scalar(select(func.count()).select_from(m)) for m in (AuditEvent, ApiToken)]
    return users, units, counts


def post(client, page_url: str, url: str, data: dict):
    """Open the page, then send its form with the page's CSRF token, as a browser would."""
    token = csrf_token_from(client.get(page_url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def as_text(event: AuditEvent) -> str:
    return json.dumps(event.data, ensure_ascii=False) + (event.comment or "")


def admin_routes(app) -> list[tuple[str, str]]:
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("user_admin."):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                url = rule.rule.replace("<int:user_id>", str(user("vp.cv").id))
                routes.append((method, url.replace("<int:unit_id>", str(unit("SO_TTTT").id))))
    return routes


# --- who may ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["cntt.cv", "cntt.tp", "giamdoc", "giamsat"])
def test_everyone_but_admins_is_refused_on_every_route(app, client, auth, role):
    routes = admin_routes(app)
    assert len(routes) >= 14, routes
    auth.login(role)
    token = csrf_token_from(client.get("/plans").get_data(as_text=True))
    before = state()
    for method, url in routes:
        if method == "GET":
            response = client.get(url)
        else:
            data = {"csrf_token": token, **NEW_USER, **NEW_UNIT, "generate": "y"}
            response = client.post(url, data=data)
        assert response.status_code == 403, (method, url, response.status_code)
    assert state() == before


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get("/admin/users")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_the_menu_shows_the_pages_to_admins_only(client, auth):
    auth.login("cntt.tp")
    assert "nav-admin-users" not in client.get("/plans").get_data(as_text=True)
    auth.logout()
    auth.login("admin")
    page = client.get("/plans").get_data(as_text=True)
    assert 'href="/admin/users"' in page and 'href="/admin/units"' in page


def test_a_change_without_the_csrf_token_is_refused(client, auth):
    auth.login("admin")
    before = state()
    response = client.post(f"/admin/users/{user('vp.cv').id}/deactivate")
    assert response.status_code == 400
    assert client.post("/admin/users/new", data=NEW_USER).status_code == 400
    assert state() == before


# --- users --------------------------------------------------------------------------------------


def test_the_list_shows_units_roles_status_and_filters(client, auth):
    auth.login("admin")
    page = client.get("/admin/users").get_data(as_text=True)
    assert "Người dùng" in page and 'data-username="giamdoc"' in page and "Lãnh đạo Sở" in page
    assert "Lãnh đạo Sở" in page and "Quản trị hệ thống" in page
    by_name = client.get("/admin/users?q=giám đốc").get_data(as_text=True)
    assert 'data-username="giamdoc"' in by_name and 'data-username="cntt.cv"' not in by_name
    by_unit = client.get("/admin/users?unit=CNTT").get_data(as_text=True)
    assert set(re.findall(r'data-username="([^"]+)"', by_unit)) == {"cntt.cv", "cntt.tp", "admin"}
    nothing = client.get("/admin/users?q=%25&unit=NOPE&status=whatever")
    assert nothing.status_code == 200 and 'data-username="' not in nothing.get_data(as_text=True)


def test_an_admin_creates_an_account_that_can_sign_in(client, auth):
    auth.login("admin")
    response = post(client, "/admin/users/new", "/admin/users/new", NEW_USER)
    assert response.status_code == 302, response.get_data(as_text=True)
    created = user("qlkh.cv2")
    assert (created.full_name, created.unit.code, created.roles, created.active) == (
        "Nguyễn Thị Hoa",
        "QLKH",
        ["specialist", "unit_head"],
        True,
    )
    assert authenticate("qlkh.cv2", NEW_PASSWORD) is not None
    (row,) = audit_rows("user.created")[-1:]
    assert row.actor_username == "admin" and row.data["username"] == "qlkh.cv2"
    assert row.data["after"]["roles"] == ["specialist", "unit_head"] and row.data["after"]["unit"] == "QLKH"
    assert NEW_PASSWORD not in as_text(row) and created.password_hash not in as_text(row)


def test_a_generated_password_is_shown_once_and_never_recorded(client, auth):
    auth.login("admin")
    data = {**NEW_USER, "password": "", "generate": "y"}
    response = post(client, "/admin/users/new", "/admin/users/new", data)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    shown = re.search(r'id="generated-password">([^<]+)<', response.get_data(as_text=True)).group(1)
    assert authenticate("qlkh.cv2", shown) is not None
    assert shown not in as_text(audit_rows("user.created")[-1])
    assert shown not in client.get(f"/admin/users/{user('qlkh.cv2').id}").get_data(as_text=True)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"username": "cntt.cv"}, "username", "Tên đăng nhập này đã có người dùng."),
        ({"username": "Nguyễn Văn A"}, "username", "chữ thường không dấu"),
        ({"unit": "NOPE"}, "unit", "Chọn một đơn vị trong danh sách."),
        ({"unit": "SO_NGANH_DP"}, "unit", "Chọn một đơn vị trong danh sách."),
        ({"roles": []}, "roles", "Chọn ít nhất một vai trò."),
        ({"roles": ["boss"]}, "roles", "Chọn vai trò trong danh sách."),
        ({"password": "ngắn-1"}, "password", "ít nhất 10 ký tự"),
        ({"password": "chỉcóchữcáithôi"}, "password", "ít nhất hai loại ký tự"),
        ({"password": "qlkh.cv2-2025"}, "password", "không được chứa tên đăng nhập"),
        ({"password": ""}, "password", "Nhập mật khẩu, hoặc chọn tạo mật khẩu tự động."),
        ({"full_name": "  "}, "full_name", "Nhập họ và tên."),
        ({"email": "không-phải-email"}, "email", "Nhập một địa chỉ thư điện tử"),
    ],
)
def test_invalid_input_shows_a_message_and_writes_nothing(client, auth, changes, field, message):
    auth.login("admin")
    before = state()
    response = post(client, "/admin/users/new", "/admin/users/new", {**NEW_USER, **changes})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page and f'id="{field}-error"' in page
    assert "Vui lòng sửa các trường được đánh dấu" in page
    assert state() == before


def test_an_admin_edits_name_email_unit_and_roles(client, auth):
    auth.login("admin")
    target = user("hts.cv")
    url = f"/admin/users/{target.id}"
    data = {"full_name": "Lê Văn Hùng", "email": "", "unit": "QLCN", "roles": ["specialist", "supervisor"]}
    response = post(client, url, url, data)
    assert response.status_code == 302
    edited = user("hts.cv")
    assert (edited.full_name, edited.email, edited.unit.code, edited.roles) == (
        "Lê Văn Hùng",
        None,
        "QLCN",
        ["specialist", "supervisor"],
    )
    (row,) = audit_rows("user.updated")
    assert row.actor_username == "admin" and row.data["username"] == "hts.cv"
    assert (row.data["before"]["unit"], row.data["after"]["unit"]) == ("HTS", "QLCN")
    assert (row.data["before"]["roles"], row.data["after"]["roles"]) == (
        ["specialist"],
        ["specialist", "supervisor"],
    )
    assert (
        row.data["before"]["email"] == "hts.cv@skhcn.haiduong.gov.vn" and row.data["after"]["email"] is None
    )
    assert row.data["password_changed"] is False

    again = post(client, url, url, data)  # the same values: nothing to record
    assert again.status_code == 302 and len(audit_rows("user.updated")) == 1


def test_a_deactivated_user_cannot_sign_in_nor_use_a_token(app, client, auth, api_token):
    token = api_token("cntt.cv")
    other = app.test_client()  # cntt.cv, signed in elsewhere
    assert (
        other.post(
            "/auth/login",
            data={
                "username": "cntt.cv",
                "password": DEMO_PASSWORD,
                "csrf_token": csrf_token_from(other.get("/auth/login").get_data(as_text=True)),
            },
        ).status_code
        == 302
    )
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    auth.login("admin")
    url = f"/admin/users/{user('cntt.cv').id}"
    response = post(client, url, f"{url}/deactivate", {})
    assert response.status_code == 302
    assert "không thể đăng nhập" in client.get(url).get_data(as_text=True)

    assert user("cntt.cv").active is False
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert (
        db.session.scalar(
            select(func.count()).select_from(ApiToken).where(ApiToken.user_id == user("cntt.cv").id)
        )
        == 0
    )
    assert other.get("/plans").status_code == 302  # the open session ends too
    auth.logout()
    assert auth.login("cntt.cv").status_code == 200  # the form again: refused
    assert authenticate("cntt.cv", DEMO_PASSWORD) is None
    assert (
        client.post("/api/v1/auth/token", json={"username": "cntt.cv", "password": DEMO_PASSWORD}).status_code
        == 401
    )

    (row,) = audit_rows("user.updated")
    assert row.actor_username == "admin" and row.data["change"] == "deactivated"
    assert (row.data["before"]["active"], row.data["after"]["active"]) == (True, False)
    assert row.data["tokens_revoked"] == 1


def test_a_reactivated_user_signs_in_again(client, auth):
    auth.login("admin")
    url = f"/admin/users/{user('vp.cv').id}"
    assert post(client, url, f"{url}/deactivate", {}).status_code == 302
    assert post(client, url, f"{url}/reactivate", {}).status_code == 302
    assert user("vp.cv").active is True
    assert post(client, url, f"{url}/reactivate", {}).status_code == 302  # already active: nothing written
    changes = [row.data["change"] for row in audit_rows("user.updated")]
    assert changes == ["deactivated", "reactivated"]
    auth.logout()
    assert auth.login("vp.cv").status_code == 302


def test_an_admin_resets_a_password(client, auth, api_token):
    token = api_token("vp.cv")
    auth.login("admin")
    url = f"/admin/users/{user('vp.cv').id}"
    weak = post(client, url, f"{url}/password", {"password": "1234567890"})
    assert weak.status_code == 422 and "ít nhất hai loại ký tự" in weak.get_data(as_text=True)
    assert authenticate("vp.cv", DEMO_PASSWORD) is not None and audit_rows("user.updated") == []

    response = post(client, url, f"{url}/password", {"password": NEW_PASSWORD})
    assert response.status_code == 302
    assert authenticate("vp.cv", DEMO_PASSWORD) is None and authenticate("vp.cv", NEW_PASSWORD) is not None
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    (row,) = audit_rows("user.updated")
    assert row.actor_username == "admin" and row.data["change"] == "password_reset"
    assert row.data["password_changed"] is True and row.data["before"] == row.data["after"]
    assert NEW_PASSWORD not in as_text(row) and user("vp.cv").password_hash not in as_text(row)

    generated = post(client, url, f"{url}/password", {"generate": "y"})
    shown = re.search(r'id="generated-password">([^<]+)<', generated.get_data(as_text=True)).group(1)
    assert authenticate("vp.cv", shown) is not None and shown not in as_text(audit_rows("user.updated")[-1])


def test_an_admin_cannot_lock_themselves_out(client, auth):
    auth.login("admin")
    me = user("admin")
    url = f"/admin/users/{me.id}"
    before = state()
    refused = post(client, url, f"{url}/deactivate", {})
    assert refused.status_code == 409
    assert "Bạn không thể khóa tài khoản của chính mình." in refused.get_data(as_text=True)
    data = {"full_name": me.full_name, "email": me.email, "unit": "CNTT", "roles": ["specialist"]}
    no_role = post(client, url, url, data)
    assert no_role.status_code == 422
    assert "Bạn không thể bỏ vai trò quản trị của chính mình." in no_role.get_data(as_text=True)
    assert state() == before
    assert user("admin").active and user("admin").roles == ["admin"]


def test_the_last_active_admin_keeps_the_role(client, auth):
    """A second admin may remove the first's admin role, but not once the first is the only one left."""
    auth.login("admin")
    page = f"/admin/users/{user('giamdoc').id}"
    post(client, page, page, {"full_name": "Giám đốc Sở", "unit": "LDS", "roles": ["leader", "admin"]})
    auth.logout()
    auth.login("giamdoc")
    admin_url = f"/admin/users/{user('admin').id}"
    assert post(client, admin_url, f"{admin_url}/deactivate", {}).status_code == 302
    before = state()
    data = {"full_name": "Quản trị hệ thống", "unit": "CNTT", "roles": ["specialist"]}
    assert post(client, admin_url, admin_url, data).status_code == 302  # inactive: not counted
    own = f"/admin/users/{user('giamdoc').id}"
    refused = post(client, own, own, {"full_name": "Giám đốc Sở", "unit": "LDS", "roles": ["leader"]})
    assert refused.status_code == 422 and user("giamdoc").has_role("admin")
    assert state() != before  # the first change was saved


def test_unknown_ids_are_404(client, auth):
    auth.login("admin")
    assert client.get("/admin/users/999999").status_code == 404
    assert client.get("/admin/units/999999").status_code == 404


# --- units --------------------------------------------------------------------------------------


def test_the_units_tree(client, auth):
    auth.login("admin")
    page = client.get("/admin/units").get_data(as_text=True)
    rows = re.findall(r'data-code="([^"]+)" data-depth="(\d+)"', page)
    order = [code for code, _ in rows]
    depth = dict(rows)
    assert order[0] == "SKHCN_HD" and depth["SKHCN_HD"] == "0"
    assert depth["VP"] == "1" and depth["KHTC"] == "2" and order.index("KHTC") == order.index("VP") + 1
    assert depth["SO_NGANH_DP"] == "0" and "các sở, ngành, địa phương" in page and "Cơ quan bên ngoài" in page


def test_an_admin_creates_and_edits_a_unit(client, auth):
    auth.login("admin")
    response = post(client, "/admin/units/new", "/admin/units/new", NEW_UNIT)
    assert response.status_code == 302, response.get_data(as_text=True)
    made = unit("PHONG_MOI")
    assert (made.name, made.short_name, made.kind, made.parent.code, made.aliases, made.active) == (
        "Phòng Đổi mới sáng tạo",
        "Phòng ĐMST",
        "division",
        "SKHCN_HD",
        ["Phòng Đổi mới", "Phòng ĐMST"],
        True,
    )
    (created,) = audit_rows("unit.created")
    assert created.actor_username == "admin" and created.data["after"]["parent"] == "SKHCN_HD"

    url = f"/admin/units/{made.id}"
    edit = {**NEW_UNIT, "name": "Phòng Đổi mới", "kind": "sub_unit", "parent": "CNTT", "aliases": ""}
    assert post(client, url, url, edit).status_code == 302
    edited = unit("PHONG_MOI")
    assert (edited.name, edited.kind, edited.parent.code, edited.aliases) == (
        "Phòng Đổi mới",
        "sub_unit",
        "CNTT",
        [],
    )
    (row,) = audit_rows("unit.updated")
    assert (row.data["before"]["parent"], row.data["after"]["parent"]) == ("SKHCN_HD", "CNTT")
    assert (row.data["before"]["aliases"], row.data["after"]["aliases"]) == (
        ["Phòng Đổi mới", "Phòng ĐMST"],
        [],
    )


@pytest.mark.parametrize(
    ("url_code", "changes", "message"),
    [
        (None, {"code": "CNTT"}, "Mã này đã được dùng cho đơn vị khác."),
        (None, {"code": "mã có dấu"}, "chữ in hoa không dấu"),
        (None, {"parent": "NOPE"}, "Chọn đơn vị cấp trên trong danh sách."),
        (None, {"parent": ""}, "Chọn đơn vị mà đơn vị này trực thuộc."),
        (None, {"kind": "external"}, "để trống đơn vị cấp trên"),
        (None, {"kind": "empire"}, "Chọn loại trong danh sách."),
        (None, {"name": ""}, "Nhập tên đơn vị."),
        ("VP", {"parent": "KHTC"}, "không thể đặt dưới chính nó"),
        ("CNTT", {"kind": "external", "parent": ""}, "người dùng đang hoạt động"),
    ],
)
def test_invalid_unit_input_shows_a_message_and_writes_nothing(client, auth, url_code, changes, message):
    auth.login("admin")
    url = f"/admin/units/{unit(url_code).id}" if url_code else "/admin/units/new"
    base = dict(NEW_UNIT)
    if url_code:
        current = unit(url_code)
        base |= {"name": current.name, "kind": current.kind, "parent": current.parent.code, "aliases": ""}
    before = state()
    response = post(client, url, url, {**base, **changes})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert state() == before


def test_a_unit_with_sub_units_keeps_a_kind_they_can_sit_under(client, auth):
    auth.login("admin")
    post(client, "/admin/units/new", "/admin/units/new", NEW_UNIT)
    child = {**NEW_UNIT, "code": "TO_CON", "name": "Tổ Đổi mới", "kind": "sub_unit", "parent": "PHONG_MOI"}
    assert post(client, "/admin/units/new", "/admin/units/new", child).status_code == 302
    url = f"/admin/units/{unit('PHONG_MOI').id}"
    before = state()
    response = post(client, url, url, {**NEW_UNIT, "kind": "work_group", "parent": ""})
    assert response.status_code == 422
    assert "Có đơn vị trực thuộc đơn vị này" in response.get_data(as_text=True)
    assert state() == before


def test_a_unit_with_active_users_cannot_be_deactivated(client, auth):
    auth.login("admin")
    url = f"/admin/units/{unit('HTS').id}"
    assert "người dùng đang hoạt động: 2" in client.get(url).get_data(as_text=True)
    before = state()
    response = post(client, url, f"{url}/deactivate", {})
    assert response.status_code == 409
    assert "Không thể khóa đơn vị này khi còn người dùng đang hoạt động: 2." in response.get_data(
        as_text=True
    )
    assert state() == before and unit("HTS").active


def test_open_work_items_and_sub_units_keep_a_unit_active(app):
    task = db.session.scalar(select(Task).where(Task.code == "1.a"))
    start_process(task, user("cntt.cv"))
    assert deactivation_blockers(unit("CNTT")) == {"users": 3, "open_items": 1}
    assert deactivation_blockers(unit("VP"))["children"] == 1  # KHTC
    assert deactivation_blockers(unit("SO_TTTT")) == {}


def test_a_deactivated_unit_is_no_longer_offered_and_can_be_reactivated(client, auth):
    auth.login("admin")
    post(client, "/admin/units/new", "/admin/units/new", NEW_UNIT)
    url = f"/admin/units/{unit('PHONG_MOI').id}"
    assert "PHONG_MOI" in client.get("/admin/users/new").get_data(as_text=True)
    assert post(client, url, f"{url}/deactivate", {}).status_code == 302
    assert unit("PHONG_MOI").active is False
    assert 'value="PHONG_MOI"' not in client.get("/admin/users/new").get_data(as_text=True)
    assert 'value="PHONG_MOI"' not in client.get("/admin/units/new").get_data(as_text=True)
    before = state()
    refused = post(client, "/admin/users/new", "/admin/users/new", {**NEW_USER, "unit": "PHONG_MOI"})
    assert refused.status_code == 422 and "đã bị khóa" in refused.get_data(as_text=True)
    assert state() == before

    assert post(client, url, f"{url}/reactivate", {}).status_code == 302
    assert unit("PHONG_MOI").active is True
    changes = [(row.data["change"], row.data["after"]["active"]) for row in audit_rows("unit.updated")]
    assert changes == [("deactivated", False), ("reactivated", True)]
    assert all(row.actor_username == "admin" for row in audit_rows("unit.updated"))


def test_a_user_of_a_deactivated_unit_is_not_reactivated_there(client, auth):
    auth.login("admin")
    post(client, "/admin/units/new", "/admin/units/new", NEW_UNIT)
    post(client, "/admin/users/new", "/admin/users/new", {**NEW_USER, "unit": "PHONG_MOI"})
    person, place = f"/admin/users/{user('qlkh.cv2').id}", f"/admin/units/{unit('PHONG_MOI').id}"
    assert post(client, person, f"{person}/deactivate", {}).status_code == 302
    assert post(client, place, f"{place}/deactivate", {}).status_code == 302
    refused = post(client, person, f"{person}/reactivate", {})
    assert refused.status_code == 409 and "đã bị khóa" in refused.get_data(as_text=True)
    assert user("qlkh.cv2").active is False


# --- the command line has the same password rules ------------------------------------------------


def test_the_users_command_refuses_a_weak_password(runner):
    args = ["users", "create", "--username", "x.cv", "--unit", "CNTT", "--role", "specialist"]
    result = runner.invoke(args=[*args, "--password", "short-1"])
    assert result.exit_code == 1
    assert "error: password: must have at least 10 characters" in result.stderr
    assert user("x.cv") is None
    assert runner.invoke(args=[*args, "--password", "đủ-dài-và-trộn-1"]).exit_code == 0
