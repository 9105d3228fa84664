"""The Tiến độ Flask application factory."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from config import Config, config_from_env


def create_app(config: type[Config] | dict | None = None) -> Flask:
    """Build the app. `config` is a Config class, a mapping of overrides, or None for the environment's."""
    app = Flask(__name__, instance_relative_config=True)
    _load_config(app, config)
    _check_config(app)
    app.json.ensure_ascii = False  # Vietnamese as readable UTF-8, not \u escapes

    from app import cli, errors, i18n, request_id, security, sqlite_pragmas, templating  # noqa: F401
    from app.extensions import csrf, db, login_manager, migrate

    request_id.init_app(app)
    db.init_app(app)
    migrate.init_app(
        app, db, directory=str(app.config["MIGRATIONS_DIR"]), render_as_batch=True, compare_type=True
    )
    csrf.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    _init_hardening(app)
    templating.init_app(app)
    errors.init_app(app)
    _register_blueprints(app)
    cli.init_app(app)
    return app


def _init_hardening(app: Flask) -> None:
    """Security headers, sign-in throttling, bounded ids and JSON (before the blueprints bind their rules)."""
    from app import input_limits, security_headers, throttle

    input_limits.init_app(app)
    security_headers.init_app(app)
    throttle.init_app(app)
    proxies = app.config.get("TRUSTED_PROXIES", 0)
    if proxies:  # behind nginx or another reverse proxy: the client's address and scheme come from it
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)


def _load_config(app: Flask, config: type[Config] | dict | None) -> None:
    from config import BASE_DIR

    if config is None or isinstance(config, dict):
        app.config.from_object(config_from_env())
        app.config.update(config or {})
    else:
        app.config.from_object(config)
    app.config.setdefault("MIGRATIONS_DIR", BASE_DIR / "migrations")


def _check_config(app: Flask) -> None:
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError(
            "SECRET_KEY is not set: set it in the environment, or TIEN_DO_ENV=development locally."
        )
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


def _register_blueprints(app: Flask) -> None:
    from app.api import bp as api_bp
    from app.attachments import bp as attachments_bp
    from app.audit import bp as audit_bp
    from app.auth import bp as auth_bp
    from app.commune_plans import bp as commune_plans_bp
    from app.dashboard import bp as dashboard_bp
    from app.health import bp as health_bp
    from app.indicators import bp as indicators_bp
    from app.notifications import bp as notifications_bp
    from app.plan_io import bp as plan_io_bp
    from app.plans import bp as plans_bp
    from app.process_admin import bp as process_admin_bp
    from app.process_migration import bp as process_migration_bp
    from app.reports import bp as reports_bp
    from app.steps import bp as steps_bp
    from app.tasks import bp as tasks_bp
    from app.user_admin import bp as user_admin_bp
    from app.vendor import bp as vendor_bp
    from app.worklist import bp as worklist_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(plans_bp)
    app.register_blueprint(tasks_bp)
    app.register_blueprint(worklist_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(steps_bp)
    app.register_blueprint(attachments_bp)
    app.register_blueprint(indicators_bp)
    app.register_blueprint(vendor_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(process_admin_bp)
    app.register_blueprint(process_migration_bp)
    app.register_blueprint(user_admin_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(plan_io_bp)
    app.register_blueprint(commune_plans_bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1")
