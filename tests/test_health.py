"""GET /healthz: database and migration status for load balancers, public, never leaking internals."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory
from flask_migrate import stamp, upgrade

from app.extensions import db
from tests.conftest import IsolatedClient, make_app

LEAKS = ("Traceback", "sqlite3", "OperationalError", "psycopg", 'File "', "secret")


def head_revision(application) -> str:
    return ScriptDirectory(str(application.config["MIGRATIONS_DIR"])).get_current_head()


def get_health(application):
    application.test_client_class = IsolatedClient
    return application.test_client().get("/healthz")


def assert_no_leak(response, *secrets: str) -> None:
    body = response.get_data(as_text=True)
    for word in LEAKS + secrets:
        assert word not in body, f"{word!r} leaked into {body}"


@pytest.fixture
def migrated_app(fresh_database_url):
    application = make_app(fresh_database_url)
    with application.app_context():
        upgrade()
        yield application
        db.session.remove()
        db.engine.dispose()


def test_ok_on_a_migrated_database_without_signing_in(migrated_app):
    response = get_health(migrated_app)
    assert response.status_code == 200, response.get_data(as_text=True)
    head = head_revision(migrated_app)
    assert response.get_json() == {
        "status": "ok",
        "database": "ok",
        "migrations": {"current": head, "head": head, "up_to_date": True},
    }
    assert response.headers["Cache-Control"] == "no-store"


def test_503_when_migrations_are_behind(migrated_app):
    script = ScriptDirectory(str(migrated_app.config["MIGRATIONS_DIR"]))
    head = script.get_current_head()
    older = script.get_revision(head).down_revision
    assert older, "needs at least two migrations"
    stamp(revision=older)
    response = get_health(migrated_app)
    assert response.status_code == 503
    assert response.get_json() == {
        "status": "error",
        "database": "ok",
        "migrations": {"current": older, "head": head, "up_to_date": False},
    }
    assert_no_leak(response)


def test_503_on_a_database_never_migrated(app):
    """The test fixture's schema comes from create_all: no alembic_version, so not up to date."""
    response = get_health(app)
    assert response.status_code == 503
    body = response.get_json()
    assert body["database"] == "ok"
    assert body["migrations"]["current"] is None and body["migrations"]["up_to_date"] is False


@pytest.mark.parametrize(
    "url",
    [
        "directory",  # a SQLite "file" that is a directory cannot be opened
        "postgresql+psycopg://healthuser:s3cr3t-pw@127.0.0.1:1/nowhere?connect_timeout=2",
    ],
)
def test_503_when_the_database_is_unreachable(tmp_path, url, caplog):
    if url == "directory":
        url = f"sqlite:///{tmp_path}"
    application = make_app(url)
    with application.app_context():
        response = get_health(application)
        db.engine.dispose()
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "error" and body["database"] == "unreachable"
    assert body["migrations"]["current"] is None
    assert body["migrations"]["head"] == head_revision(application)
    assert body["migrations"]["up_to_date"] is False
    assert_no_leak(response, "s3cr3t-pw", "healthuser", str(tmp_path))
    # the operator gets the details in the log, with the request id
    logged = [r for r in caplog.records if "Health check" in r.getMessage()]
    assert logged and logged[0].exc_info is not None
    assert logged[0].request_id == response.headers["X-Request-ID"]
