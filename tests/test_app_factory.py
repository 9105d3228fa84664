"""The app factory and configuration from the environment."""

import pytest

from app import create_app
from config import DEFAULT_DATABASE_URL, INSTANCE_DIR, TestingConfig, config_from_env


def test_testing_config_is_used_when_given():
    app = create_app(TestingConfig)
    assert app.testing
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite://"


def test_production_refuses_to_start_without_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("TIEN_DO_ENV", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app()


def test_production_reads_secret_key_and_database_url_from_environment(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'prod.sqlite'}"
    monkeypatch.setenv("TIEN_DO_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "s3cret")
    monkeypatch.setenv("DATABASE_URL", url)
    app = create_app()
    assert not app.testing
    assert app.config["SECRET_KEY"] == "s3cret"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == url


def test_database_defaults_to_sqlite_under_instance():
    config = config_from_env({"TIEN_DO_ENV": "development"})
    assert config.SQLALCHEMY_DATABASE_URI == DEFAULT_DATABASE_URL
    assert DEFAULT_DATABASE_URL.startswith("sqlite:///") and str(INSTANCE_DIR) in DEFAULT_DATABASE_URL


def test_development_has_a_secret_key_without_environment():
    assert config_from_env({"TIEN_DO_ENV": "development"}).SECRET_KEY


def test_secure_cookies_follow_the_environment():
    assert config_from_env({"SESSION_COOKIE_SECURE": "1"}).SESSION_COOKIE_SECURE is True
    assert config_from_env({}).SESSION_COOKIE_SECURE is False


def test_unknown_environment_name_is_an_error():
    with pytest.raises(RuntimeError, match="TIEN_DO_ENV"):
        config_from_env({"TIEN_DO_ENV": "staging"})


def test_mapping_overrides_the_environment(monkeypatch):
    monkeypatch.setenv("TIEN_DO_ENV", "development")
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "DEMO_PASSWORD": "x"})
    assert app.config["DEMO_PASSWORD"] == "x"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite://"


def test_cookies_are_http_only_and_same_site():
    app = create_app(TestingConfig)
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_behind_a_trusted_proxy_the_client_address_comes_from_x_forwarded_for():
    from flask import request

    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x", "TRUSTED_PROXIES": 1})

    @app.get("/whoami-test")
    def whoami():
        return request.remote_addr or ""

    app.view_functions["whoami"].is_public = True
    response = app.test_client().get("/whoami-test", headers={"X-Forwarded-For": "203.0.113.7"})
    assert response.get_data(as_text=True) == "203.0.113.7"


def test_without_trusted_proxies_x_forwarded_for_is_ignored():
    from flask import request

    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x"})

    @app.get("/whoami-test")
    def whoami():
        return request.remote_addr or ""

    app.view_functions["whoami"].is_public = True
    response = app.test_client().get("/whoami-test", headers={"X-Forwarded-For": "203.0.113.7"})
    assert response.get_data(as_text=True) != "203.0.113.7"
