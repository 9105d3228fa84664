"""Configuration, read from the environment only."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"


def _default_database_url() -> str:
    return f"sqlite:///{INSTANCE_DIR / 'tien-do.sqlite'}"


class Config:
    """Settings for a running server. Every value can be overridden by an environment variable."""

    ENV_NAME = os.environ.get("TIEN_DO_ENV", "production")
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or _default_database_url()
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "0") == "1"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE

    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session

    BABEL_DEFAULT_LOCALE = "vi"
    BABEL_DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
    LANGUAGES = ("vi", "en")

    # werkzeug.security method; tests use a cheap one, production keeps the strong default.
    PASSWORD_HASH_METHOD = os.environ.get("PASSWORD_HASH_METHOD", "scrypt")
    API_TOKEN_TTL_SECONDS = int(os.environ.get("API_TOKEN_TTL_SECONDS", str(8 * 3600)))
    DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "TienDo@2025")

    NODE_MODULES_DIR = os.environ.get("NODE_MODULES_DIR") or str(BASE_DIR / "node_modules")


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    SECRET_KEY = os.environ.get("SECRET_KEY") or "dev-only-not-secret"


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "test-only-not-secret"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL") or "sqlite://"
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"


CONFIGS = {"production": Config, "development": DevelopmentConfig, "testing": TestingConfig}


def config_from_env() -> type[Config]:
    """The config class named by TIEN_DO_ENV (production when unset)."""
    name = os.environ.get("TIEN_DO_ENV", "production")
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(f"TIEN_DO_ENV must be one of {sorted(CONFIGS)}, not {name!r}") from None
