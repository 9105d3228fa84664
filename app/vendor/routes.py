from pathlib import Path

from flask import abort, current_app, send_from_directory

from app.security import public
from app.vendor import bp

# Only the distribution folders of the packages we use are reachable.
ALLOWED_ROOTS = (
    "bootstrap/dist/",
    "bootstrap-icons/font/",
    "bpmn-js/dist/",
    "chart.js/dist/",
)


@bp.get("/<path:filename>")
@public
def asset(filename: str):
    if not filename.startswith(ALLOWED_ROOTS) or ".." in Path(filename).parts:
        abort(404)
    return send_from_directory(current_app.config["NODE_MODULES_DIR"], filename, max_age=3600)
