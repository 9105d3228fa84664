"""Task files on the web: the files section of a task page, uploading (with CSRF) and downloading."""

from flask import Blueprint, current_app, request
from flask_babel import format_decimal
from flask_login import current_user

from app.services.attachments import files_panel, upload_body_limit

bp = Blueprint("attachments", __name__)


def accepts_upload(view):
    """Mark a view that takes a file: its request body may be as large as an attachment (not 2 MB)."""
    view.accepts_upload = True
    return view


def raise_body_limit_for_uploads(endpoint: str | None, values: dict | None) -> None:
    """Runs before every before_request hook (CSRF, NUL checks read the form), so the limit applies."""
    view = current_app.view_functions.get(endpoint or "")
    if getattr(view, "accepts_upload", False):
        request.max_content_length = upload_body_limit()


bp.url_value_preprocessor(raise_body_limit_for_uploads)


@bp.app_template_filter("file_size")
def file_size(size: int | None) -> str:
    """A size as people read it, in the interface's number format: 950 B, 12,5 KB, 20 MB."""
    if size is None:
        return ""
    units = ("B", "KB", "MB", "GB")
    value, index = float(size), 0
    while value >= 1024 and index < len(units) - 1:
        value, index = value / 1024, index + 1
    return f"{format_decimal(value, format='#,##0.#')} {units[index]}"


@bp.app_context_processor
def inject_task_files() -> dict:
    """`task_files(task)`: the files panel of a task for the signed-in user (attachments/_task_files.html)."""

    def task_files(task):
        return files_panel(task, current_user._get_current_object())

    return {"task_files": task_files}


from app.attachments import routes  # noqa: E402,F401
