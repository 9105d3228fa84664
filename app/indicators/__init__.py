"""Indicators (chỉ tiêu): where each of a plan's indicators stands, one indicator's history and chart,
and entering its value for a period."""

from flask import Blueprint

bp = Blueprint("indicators", __name__)

from app.indicators import routes  # noqa: E402,F401
