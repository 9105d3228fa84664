"""Người dùng và đơn vị: user and unit administration (admins only), audited."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("user_admin", __name__)

from app.user_admin import routes, unit_routes  # noqa: E402,F401
