"""Kế hoạch cấp xã: plan frameworks the department publishes and the plans communes build from them."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("commune_plans", __name__)

from app.commune_plans import routes  # noqa: E402,F401
