"""Fixtures after Flask's tutorial: app -> client -> runner, a fresh database per test.

The demo database (plan, units, accounts) is built once per session and copied for each test,
so every test starts from the same seeded state and may change it freely.

The suite runs on SQLite by default (each test gets a copy of a seeded file) and on PostgreSQL when
TEST_DATABASE_URL names one (`make test` starts a throw-away server with
scripts/postgres-test-server.sh): there the seeded database is a template, and each test gets its own
`CREATE DATABASE ... TEMPLATE`, dropped after the test.
"""

from __future__ import annotations

import itertools
import os
import shutil
import time
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.pool import NullPool

from app import create_app
from app.extensions import db
from config import TestingConfig

DEMO_PASSWORD = "demo-pass-123"
REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = REPO_ROOT.parent / "shared"

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL") or None
ON_POSTGRES = TEST_DATABASE_URL is not None
if ON_POSTGRES and make_url(TEST_DATABASE_URL).get_backend_name() != "postgresql":
    raise RuntimeError(f"TEST_DATABASE_URL must be a postgresql URL, not {TEST_DATABASE_URL!r}")

only_sqlite = pytest.mark.skipif(ON_POSTGRES, reason="about SQLite itself")


def make_app(database: Path | str | URL, **overrides):
    """The testing app on `database`: a SQLite file path, or a database URL."""
    if isinstance(database, Path):
        uri = f"sqlite:///{database}"
    elif isinstance(database, URL):
        uri = database.render_as_string(hide_password=False)
    else:
        uri = database

    class Config(TestingConfig):
        SQLALCHEMY_DATABASE_URI = uri
        DEMO_PASSWORD = globals()["DEMO_PASSWORD"]

    application = create_app(Config)
    application.config.update(overrides)
    return application


class PostgresDatabases:
    """Creates and drops the suite's databases on the server of TEST_DATABASE_URL.

    Every name starts with a prefix of this process, so concurrent runs on one server do not meet.
    """

    def __init__(self, url: str):
        self.url = make_url(url)
        self.prefix = f"tdt{os.getpid()}_"
        self._numbers = itertools.count(1)
        self._admin = create_engine(
            self.url.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool
        )

    def url_for(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def new_name(self, purpose: str) -> str:
        return f"{self.prefix}{purpose}_{next(self._numbers)}"

    def create(self, purpose: str, template: str | None = None) -> str:
        name = self.new_name(purpose)
        statement = f'CREATE DATABASE "{name}"'
        if template:
            statement += f' TEMPLATE "{template}"'
        with self._admin.connect() as connection:
            connection.execute(text(statement))
        return name

    def drop(self, name: str) -> None:
        """Drop it, ending its connections. A non-superuser may not end an autovacuum worker's: retry."""
        assert name.startswith(self.prefix), name
        for attempt in range(20):
            try:
                with self._admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                return
            except (OperationalError, ProgrammingError):
                if attempt == 19:
                    raise
                time.sleep(0.25)

    def close(self) -> None:
        self._admin.dispose()


@pytest.fixture(scope="session")
def postgres_databases():
    if not ON_POSTGRES:
        pytest.skip("TEST_DATABASE_URL is not set")
    databases = PostgresDatabases(TEST_DATABASE_URL)
    yield databases
    databases.close()


@pytest.fixture
def fresh_database_url(request, tmp_path) -> str:
    """The URL of a new, empty database of the suite's kind (SQLite file or PostgreSQL database)."""
    if not ON_POSTGRES:
        return f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    databases = request.getfixturevalue("postgres_databases")
    name = databases.create("fresh")
    url = databases.url_for(name)
    request.addfinalizer(lambda: databases.drop(name))
    return url


def _build(database, seed: bool) -> None:
    from app.services.demo import seed_demo

    application = make_app(database)
    with application.app_context():
        db.create_all()
        if seed:
            seed_demo(DEMO_PASSWORD)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()  # a template must have no connections when it is copied


@pytest.fixture(scope="session")
def demo_database(request, tmp_path_factory) -> Path | str:
    """The schema and the demo seed, built once: a SQLite file, or a PostgreSQL template's name."""
    if not ON_POSTGRES:
        path = tmp_path_factory.mktemp("template") / "demo.sqlite"
        _build(path, seed=True)
        return path
    databases = request.getfixturevalue("postgres_databases")
    name = databases.create("demo")
    request.addfinalizer(lambda: databases.drop(name))
    _build(databases.url_for(name), seed=True)
    return name


@pytest.fixture(scope="session")
def empty_database(request) -> str | None:
    """On PostgreSQL, a template with the empty schema (on SQLite create_all per test is as fast)."""
    if not ON_POSTGRES:
        return None
    databases = request.getfixturevalue("postgres_databases")
    name = databases.create("empty")
    request.addfinalizer(lambda: databases.drop(name))
    _build(databases.url_for(name), seed=False)
    return name


def _database_from_template(request, template: str) -> str:
    databases = request.getfixturevalue("postgres_databases")
    name = databases.create("test", template=template)
    request.addfinalizer(lambda: databases.drop(name))
    return databases.url_for(name)


@pytest.fixture
def app(request, demo_database, tmp_path):
    """The app on a private copy of the demo database."""
    if ON_POSTGRES:
        database = _database_from_template(request, demo_database)
    else:
        database = tmp_path / "test.sqlite"
        shutil.copyfile(demo_database, database)
    application = make_app(database)
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def empty_app(request, empty_database, tmp_path):
    """The app on an empty schema, for import tests that start from nothing."""
    if ON_POSTGRES:
        application = make_app(_database_from_template(request, empty_database))
    else:
        application = make_app(tmp_path / "empty.sqlite")
    with application.app_context():
        if not ON_POSTGRES:
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
