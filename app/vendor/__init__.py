"""Serves the browser packages installed by npm (Bootstrap, bpmn-js) from node_modules."""

from flask import Blueprint

bp = Blueprint("vendor", __name__, url_prefix="/vendor")

from app.vendor import routes  # noqa: E402,F401
