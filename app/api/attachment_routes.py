"""Views of the JSON API v1 for a task's files: listing, uploading (multipart) and downloading.

Who: those who may view the task list and download (workflows.permissions.may_view_task); those who
may edit its files in its current state upload (may_edit_files). The service (app.services.attachments)
checks both and commits or changes nothing; its WorkflowError becomes the JSON error of its status
(403, 404, 409, 413 too large, 422 wrong type or missing field).
"""

from __future__ import annotations

from typing import Any

from flask import request, send_file, url_for
from flask.typing import ResponseReturnValue

from app.api import bp
from app.api.auth import current_api_user
from app.api.errors import ApiError
from app.api.routes import task_or_404
from app.api.serializers import iso_timestamp
from app.attachments import accepts_upload, raise_body_limit_for_uploads
from app.attachments.routes import DOWNLOAD_HEADERS
from app.models import Attachment
from app.services.attachments import Upload, attachment_for, attachments_of, file_path, store
from workflows.permissions import may_edit_files, may_view_task

bp.url_value_preprocessor(raise_body_limit_for_uploads)


def attachment_json(attachment: Attachment) -> dict[str, Any]:
    uploader = attachment.uploaded_by
    item = attachment.work_item
    return {
        "id": attachment.id,
        "task_id": attachment.task_id,
        "name": attachment.name,
        "version": attachment.version,
        "filename": attachment.filename,
        "size": attachment.size,
        "content_type": attachment.content_type,
        "sha256": attachment.sha256,
        "work_item_id": attachment.work_item_id,
        "step": item.step if item else None,
        "uploaded_by": {"username": uploader.username, "full_name": uploader.full_name} if uploader else None,
        "uploaded_at": iso_timestamp(attachment.uploaded_at),
        "download_url": url_for("api.download_file", attachment_id=attachment.id),
    }


@bp.get("/tasks/<int:task_id>/files")
def list_task_files(task_id: int) -> ResponseReturnValue:
    task, user = task_or_404(task_id), current_api_user()
    if not may_view_task(user, task):
        raise ApiError(403, "you may not see this task's files")
    files = [attachment_json(attachment) for attachment in attachments_of(task)]
    return {"files": files, "can_upload": may_edit_files(user, task)}


@bp.post("/tasks/<int:task_id>/files")
@accepts_upload
def upload_task_file(task_id: int) -> ResponseReturnValue:
    task, user = task_or_404(task_id), current_api_user()
    if not may_edit_files(user, task):
        raise ApiError(403, "you may not add files to this task in its current state")
    if request.mimetype != "multipart/form-data":
        raise ApiError(415, "send multipart/form-data with a `file` and its `name`")
    sent = request.files.get("file")
    upload = Upload(
        sent.stream if sent else None,
        sent.filename if sent else None,
        request.form.get("name"),
        request.form.get("work_item"),
    )
    attachment = store(task, user, upload)
    body = attachment_json(attachment)
    return body, 201, {"Location": body["download_url"]}


@bp.get("/files/<int:attachment_id>")
def download_file(attachment_id: int) -> ResponseReturnValue:
    attachment = attachment_for(attachment_id, current_api_user())
    response = send_file(
        file_path(attachment),
        mimetype=attachment.content_type,
        as_attachment=True,
        download_name=attachment.filename,
        etag=attachment.sha256,
        max_age=0,
    )
    response.headers.update(DOWNLOAD_HEADERS)
    return response
