"""Configuration, read from the environment only (at app creation, not at import)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"
DEFAULT_DATABASE_URL = f"sqlite:///{INSTANCE_DIR / 'tien-do.sqlite'}"


class Config:
    """Defaults for a production server; `config_from_env` lays the environment over them."""

    ENV_NAME = "production"
    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI = DEFAULT_DATABASE_URL
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False  # SESSION_COOKIE_SECURE=1 behind HTTPS
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"

    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session

    # Bodies larger than this are refused with 413 (JSON under /api/, a page elsewhere).
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024
    TRUSTED_PROXIES = 0  # how many reverse proxies in front set X-Forwarded-For/-Proto/-Host

    # Sign-in throttling (app/throttle.py): failed attempts per address+username and per address.
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = "memory://"  # per process; a shared memcached:// or redis:// for several workers
    RATELIMIT_HEADERS_ENABLED = True  # Retry-After on 429
    LOGIN_LIMIT_PER_USERNAME = "10 per minute"
    LOGIN_LIMIT_PER_ADDRESS = "50 per minute"

    BABEL_DEFAULT_LOCALE = "vi"
    BABEL_DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
    LANGUAGES = ("vi", "en")

    # werkzeug.security method: production keeps the strong default, tests use a cheap one.
    PASSWORD_HASH_METHOD = "scrypt"
    API_TOKEN_TTL_SECONDS = 8 * 3600
    DEMO_PASSWORD = "TienDo@2025"
    NODE_MODULES_DIR = str(BASE_DIR / "node_modules")

    # Reminders (workflows/reminders.py): days before a step is due, and days overdue before the leader hears.
    REMINDER_DAYS = (7, 3, 1)
    ESCALATE_TO_LEADER_AFTER_DAYS = 3
    OUTBOX_PATH: str | None = str(INSTANCE_DIR / "outbox.jsonl")  # one JSON line per notification; None: off

    # Task files (app/services/attachments.py): stored by SHA-256 under this folder, each at most this big.
    ATTACHMENTS_DIR = str(INSTANCE_DIR / "attachments")
    ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024

    # E-mail (Flask-Mail, app/services/mail.py): with MAIL_SERVER set, notifications are also e-mailed to
    # users who have an address; without it they go to OUTBOX_PATH only.
    MAIL_SERVER: str | None = None
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_DEFAULT_SENDER: str | None = None
    MAIL_TIMEOUT = 10  # seconds to reach the SMTP server before giving up for this tick


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    SECRET_KEY = "dev-only-not-secret"


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "test-only-not-secret"
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    OUTBOX_PATH = None  # tests that want the outbox point it at their tmp_path
    # Never the real instance folder; tests about files point it at their tmp_path.
    ATTACHMENTS_DIR = str(Path(tempfile.gettempdir()) / "tien-do-test-attachments")


CONFIGS: dict[str, type[Config]] = {
    "production": Config,
    "development": DevelopmentConfig,
    "testing": TestingConfig,
}

# environment variable -> (setting, converter)
ENVIRONMENT_SETTINGS = {
    "SECRET_KEY": ("SECRET_KEY", str),
    "DATABASE_URL": ("SQLALCHEMY_DATABASE_URI", str),
    "SESSION_COOKIE_SECURE": ("SESSION_COOKIE_SECURE", lambda v: v == "1"),
    "PASSWORD_HASH_METHOD": ("PASSWORD_HASH_METHOD", str),
    "API_TOKEN_TTL_SECONDS": ("API_TOKEN_TTL_SECONDS", int),
    "DEMO_PASSWORD": ("DEMO_PASSWORD", str),
    "NODE_MODULES_DIR": ("NODE_MODULES_DIR", str),
    "MAX_CONTENT_LENGTH": ("MAX_CONTENT_LENGTH", int),
    "RATELIMIT_STORAGE_URI": ("RATELIMIT_STORAGE_URI", str),
    "TRUSTED_PROXIES": ("TRUSTED_PROXIES", int),
    "OUTBOX_PATH": ("OUTBOX_PATH", str),
    "ATTACHMENTS_DIR": ("ATTACHMENTS_DIR", str),
    "ATTACHMENT_MAX_BYTES": ("ATTACHMENT_MAX_BYTES", int),
    "MAIL_SERVER": ("MAIL_SERVER", str),
    "MAIL_PORT": ("MAIL_PORT", int),
    "MAIL_USE_TLS": ("MAIL_USE_TLS", lambda v: v == "1"),
    "MAIL_USERNAME": ("MAIL_USERNAME", str),
    "MAIL_PASSWORD": ("MAIL_PASSWORD", str),
    "MAIL_DEFAULT_SENDER": ("MAIL_DEFAULT_SENDER", str),
}


def config_from_env(environ: Mapping[str, str] | None = None) -> type[Config]:
    """The config named by TIEN_DO_ENV (production when unset) with the environment's values on top."""
    environ = os.environ if environ is None else environ
    name = environ.get("TIEN_DO_ENV") or "production"
    if name not in CONFIGS:
        raise RuntimeError(f"TIEN_DO_ENV must be one of {sorted(CONFIGS)}, not {name!r}")
    overrides = {
        setting: convert(environ[variable])
        for variable, (setting, convert) in ENVIRONMENT_SETTINGS.items()
        if environ.get(variable)
    }
    if overrides.get("SESSION_COOKIE_SECURE"):
        overrides["REMEMBER_COOKIE_SECURE"] = True
    return type(f"{CONFIGS[name].__name__}FromEnvironment", (CONFIGS[name],), overrides)
