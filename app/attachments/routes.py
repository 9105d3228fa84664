"""A task's files: the list with the upload form, uploading, and downloading one version."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.attachments import accepts_upload, bp
from app.extensions import db
from app.models import Task
from app.services.attachments import Upload, attachment_for, file_path, store
from workflows.errors import NotAllowed, NotFound, WorkflowError

# Served bytes never run here: a download, not sniffed, and sandboxed should a browser render it anyway.
DOWNLOAD_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private, no-cache",
}


@bp.get("/tasks/<int:task_id>/files")
def index(task_id: int):
    task = db.get_or_404(Task, task_id)
    return render_template("attachments/index.html", task=task)


@bp.post("/tasks/<int:task_id>/files")
@accepts_upload
def upload(task_id: int):
    task = db.get_or_404(Task, task_id)
    sent = request.files.get("file")
    try:
        fields = (request.form.get("name"), request.form.get("work_item"))
        received = Upload(sent.stream if sent else None, sent.filename if sent else None, *fields)
        attachment = store(task, current_user._get_current_object(), received)
    except NotAllowed:
        abort(403)
    except WorkflowError as error:
        return render_template("attachments/refused.html", task=task, error=error), error.status
    message = _(
        "The file %(name)s has been added as version %(version)d.",
        name=attachment.name,
        version=attachment.version,
    )
    flash(message, "success")
    if request.form.get("back") == "task":
        return redirect(url_for("tasks.show", task_id=task.id, _anchor="task-files"))
    return redirect(url_for("attachments.index", task_id=task.id))


@bp.get("/files/<int:attachment_id>")
def download(attachment_id: int):
    try:
        attachment = attachment_for(attachment_id, current_user._get_current_object())
        path = file_path(attachment)
    except NotAllowed:
        abort(403)
    except NotFound:
        abort(404)
    response = send_file(
        path,
        mimetype=attachment.content_type,
        as_attachment=True,
        download_name=attachment.filename,
        etag=attachment.sha256,
        max_age=0,
    )
    response.headers.update(DOWNLOAD_HEADERS)
    return response
