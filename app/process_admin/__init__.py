"""Quy trình: the process definitions, the modeler, drafts and deploys (admins only)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("process_admin", __name__)

from app.process_admin import routes  # noqa: E402,F401
