"""Signing in and out of the web pages: what a user sees, and what an attacker cannot do."""

from urllib.parse import quote, urlsplit

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import User
from tests.conftest import DEMO_PASSWORD, csrf_token_from

FAILURE_MESSAGE = "Tên đăng nhập hoặc mật khẩu không đúng."


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _signed_in(client) -> bool:
    with client.session_transaction() as session:
        return "_user_id" in session


def _path(response) -> str:
    return urlsplit(response.headers["Location"]).path


def _post_login(client, query: str = "", **fields):
    token = csrf_token_from(client.get(f"/auth/login{query}").get_data(as_text=True))
    return client.post(f"/auth/login{query}", data={"csrf_token": token, **fields})


def test_sign_in_page_is_vietnamese_with_a_csrf_protected_form(client):
    page = client.get("/auth/login")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<html lang="vi">' in html
    assert "Tên đăng nhập" in html and "Mật khẩu" in html and "Đăng nhập" in html
    assert csrf_token_from(html)


def test_sign_in_lands_on_the_plans_with_the_users_name(client, auth):
    response = auth.login()
    assert response.status_code == 302
    assert _path(response) == "/plans"
    page = client.get("/plans").get_data(as_text=True)
    user = _user("cntt.cv")
    assert user.full_name in page
    assert user.unit.name in page
    assert "Đăng xuất" in page


@pytest.mark.parametrize(
    ("username", "password"),
    [("cntt.cv", "wrong-password"), ("nobody.here", DEMO_PASSWORD), ("nobody.here", "wrong-password")],
)
def test_wrong_password_and_unknown_user_get_the_same_message(client, auth, username, password):
    response = auth.login(username, password)
    assert response.status_code == 200
    assert FAILURE_MESSAGE in response.get_data(as_text=True)
    assert not _signed_in(client)
    assert _path(client.get("/plans")) == "/auth/login"


def test_empty_form_is_refused_without_signing_in(client):
    response = _post_login(client, username="", password="")
    assert response.status_code == 400
    assert not _signed_in(client)


def test_inactive_user_is_refused_like_a_wrong_password(app, client, auth):
    _user("cntt.cv").active = False
    db.session.commit()
    response = auth.login()
    assert response.status_code == 200
    assert FAILURE_MESSAGE in response.get_data(as_text=True)
    assert not _signed_in(client)


def test_sign_in_without_csrf_token_is_rejected(client):
    client.get("/auth/login")
    response = client.post("/auth/login", data={"username": "cntt.cv", "password": DEMO_PASSWORD})
    assert response.status_code == 400
    assert not _signed_in(client)


def test_session_cookie_is_httponly_and_samesite_lax(auth):
    response = auth.login()
    cookies = [value for value in response.headers.getlist("Set-Cookie") if value.startswith("session=")]
    assert cookies, "signing in sets the session cookie"
    attributes = [part.strip().lower() for part in cookies[-1].split(";")]
    assert "httponly" in attributes
    assert "samesite=lax" in attributes


def test_sign_in_starts_a_fresh_session(client, auth):
    client.get("/auth/login")
    with client.session_transaction() as session:
        session["planted_by_attacker"] = "fixation"
    before = client.get_cookie("session").value
    auth.login()
    with client.session_transaction() as session:
        assert "planted_by_attacker" not in session
        assert "_user_id" in session
    assert client.get_cookie("session").value != before


def test_signed_in_user_visiting_sign_in_goes_to_plans(client, auth):
    auth.login()
    response = client.get("/auth/login")
    assert response.status_code == 302
    assert _path(response) == "/plans"


def test_logout_needs_post(client, auth):
    auth.login()
    assert client.get("/auth/logout").status_code == 405
    assert _signed_in(client)


def test_logout_without_csrf_token_is_rejected(client, auth):
    auth.login()
    assert client.post("/auth/logout").status_code == 400
    assert _signed_in(client)


def test_logout_signs_out_and_pages_ask_to_sign_in_again(client, auth):
    auth.login()
    response = auth.logout()
    assert response.status_code == 302
    assert _path(response) == "/auth/login"
    assert not _signed_in(client)
    again = client.get("/plans")
    assert again.status_code == 302
    assert _path(again) == "/auth/login"


def test_sign_in_returns_to_the_page_asked_for(client):
    first = client.get("/plans/1/indicators")
    assert _path(first) == "/auth/login"
    login_url = first.headers["Location"]
    query = login_url[login_url.index("?") :]
    response = _post_login(client, query, username="cntt.cv", password=DEMO_PASSWORD)
    assert response.headers["Location"] == "/plans/1/indicators"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "https://evil.example",
        "http://evil.example/plans",
        "/\\evil.example",
        "///evil.example",
        "javascript:alert(1)",
        "plans",
    ],
)
def test_open_redirects_through_next_land_on_plans(client, target):
    response = _post_login(
        client, f"?next={quote(target, safe='')}", username="cntt.cv", password=DEMO_PASSWORD
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/plans"


def _switch_language(client, code: str, next_path: str = "/plans"):
    token = csrf_token_from(client.get(next_path).get_data(as_text=True))
    response = client.post(f"/lang/{code}", data={"csrf_token": token, "next": next_path})
    return response


def test_language_switch_to_english_and_back(client, auth):
    auth.login()
    response = _switch_language(client, "en")
    assert response.status_code == 302 and _path(response) == "/plans"
    english = client.get("/plans").get_data(as_text=True)
    assert '<html lang="en">' in english
    assert "Sign out" in english and "Đăng xuất" not in english

    _switch_language(client, "vi")
    vietnamese = client.get("/plans").get_data(as_text=True)
    assert '<html lang="vi">' in vietnamese
    assert "Đăng xuất" in vietnamese and "Sign out" not in vietnamese


def test_language_chosen_before_sign_in_is_kept(client, auth):
    _switch_language(client, "en", "/auth/login")
    assert "Sign in" in client.get("/auth/login").get_data(as_text=True)
    auth.login()
    assert "Sign out" in client.get("/plans").get_data(as_text=True)


def test_the_language_switch_needs_a_csrf_token(client, auth):
    auth.login()
    assert client.post("/lang/en", data={"next": "/plans"}).status_code == 400
    assert "Đăng xuất" in client.get("/plans").get_data(as_text=True)
