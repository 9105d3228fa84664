"""Báo cáo: the monthly reports and the review meeting's minutes as Word and Excel documents."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("reports", __name__)

from app.reports import routes  # noqa: E402,F401
