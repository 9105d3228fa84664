"""Fixtures after Flask's tutorial: app -> client -> runner, a fresh database per test.

The demo database (plan, units, accounts) is built once per session and copied for each test,
so every test starts from the same seeded state and may change it freely.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from app import create_app
from app.extensions import db
from config import TestingConfig

DEMO_PASSWORD = "demo-pass-123"
REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = REPO_ROOT.parent / "shared"


def make_app(database_file: Path, **overrides):
    class Config(TestingConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{database_file}"
        DEMO_PASSWORD = globals()["DEMO_PASSWORD"]

    application = create_app(Config)
    application.config.update(overrides)
    return application


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory) -> Path:
    """A SQLite file with the schema and the demo seed, built once."""
    from app.services.demo import seed_demo

    path = tmp_path_factory.mktemp("template") / "demo.sqlite"
    application = make_app(path)
    with application.app_context():
        db.create_all()
        seed_demo(DEMO_PASSWORD)
        db.session.commit()
        db.engine.dispose()
    return path


@pytest.fixture
def app(demo_database, tmp_path):
    """The app on a private copy of the demo database."""
    path = tmp_path / "test.sqlite"
    shutil.copyfile(demo_database, path)
    application = make_app(path)
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def empty_app(tmp_path):
    """The app on an empty schema, for import tests that start from nothing."""
    application = make_app(tmp_path / "empty.sqlite")
    with application.app_context():
        db.create_all()
        yield application
        db.session.remove()
        db.engine.dispose()


class IsolatedClient(FlaskClient):
    """Each request runs in its own app context, as on a server: fresh `g`, its own DB session.

    Without this every request of a test would share the fixture's app context, and with it
    Flask-Login's cached user, Flask-WTF's CSRF token and Flask-Babel's locale.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    app.test_client_class = IsolatedClient
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class AuthActions:
    """Sign in and out through the real form (CSRF included)."""

    def __init__(self, client):
        self._client = client

    def login(self, username: str = "cntt.cv", password: str = DEMO_PASSWORD, follow: bool = False):
        page = self._client.get("/auth/login")
        token = csrf_token_from(page.get_data(as_text=True))
        return self._client.post(
            "/auth/login",
            data={"username": username, "password": password, "csrf_token": token},
            follow_redirects=follow,
        )

    def logout(self):
        page = self._client.get("/plans")
        token = csrf_token_from(page.get_data(as_text=True))
        return self._client.post("/auth/logout", data={"csrf_token": token})


def csrf_token_from(html: str) -> str:
    import re

    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'<meta name="csrf-token" content="([^"]+)"', html
    )
    assert match, "no CSRF token on the page"
    return match.group(1)


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def api_token(client):
    """api_token("cntt.cv") -> a bearer token obtained through POST /api/v1/auth/token."""

    def issue(username: str = "cntt.cv", password: str = DEMO_PASSWORD) -> str:
        response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
        assert response.status_code == 200, response.get_json()
        return response.get_json()["token"]

    return issue
