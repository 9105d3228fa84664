"""A task's page with every field the plan gives it, its process and history; starting the process;
setting its "5 rõ" fields; recording the central guidance it waits for."""

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.extensions import db
from app.models import Task, TaskState, User
from app.services.clock import local_today
from app.services.step_context import task_workflow
from app.services.task_editing import may_edit_task, update_task_fields
from app.services.task_types import guidance_note, may_record_guidance, record_guidance
from app.tasks import bp
from app.tasks.forms import NOT_ACCEPTED, GuidanceForm, TaskFieldsForm
from workflows.engine import start_process
from workflows.errors import Conflict, InvalidData, NotAllowed, ProcessFailed
from workflows.permissions import may_view_task


@bp.get("/<int:task_id>")
def show(task_id: int):
    task = db.get_or_404(Task, task_id)
    if not may_view_task(_user(), task):  # the permission map of its process, in its state
        abort(403)
    return _page(task)


@bp.post("/<int:task_id>/start")
def start(task_id: int):
    task = db.get_or_404(Task, task_id)
    try:
        start_process(task, _user())
    except NotAllowed:
        abort(403)
    except Conflict:
        flash(_("The process of this task has already been started."), "warning")
    except InvalidData:
        flash(_("No process is deployed for this kind of task."), "danger")
    except ProcessFailed:
        flash(_("The process could not start. Nothing was changed; please tell an administrator."), "danger")
    else:
        flash(_("The process has started."), "success")
    return redirect(url_for("tasks.show", task_id=task.id))


@bp.post("/<int:task_id>/fields")
def edit_fields(task_id: int):
    """Set the assignee, expected result and deadline (app.services.task_editing's rules)."""
    task, user = db.get_or_404(Task, task_id), _user()
    if not may_edit_task(user, task):
        abort(403)
    form = TaskFieldsForm.for_task(task)
    if not form.validate_on_submit():
        return _page(task, fields_form=form), 422
    changes = form.changes(task)
    if not changes:
        flash(_("Nothing was changed."), "info")
        return redirect(url_for("tasks.show", task_id=task.id))
    try:
        update_task_fields(task, user, changes)
    except InvalidData as error:
        form.show_service_errors(error.details or {})
        return _page(task, fields_form=form), 422
    flash(_("The task's details were saved."), "success")
    return redirect(url_for("tasks.show", task_id=task.id))


@bp.post("/<int:task_id>/guidance")
def guidance(task_id: int):
    """Record that the central guidance arrived (app.services.task_types.record_guidance decides)."""
    task, user = db.get_or_404(Task, task_id), _user()
    form = GuidanceForm()
    valid = form.validate_on_submit()
    note = guidance_note(form.number.data, form.issued_date(), form.summary.data or "") if valid else ""
    try:
        record_guidance(task, user, note, note_required=True)
    except NotAllowed:
        abort(403)
    except Conflict:
        flash(_("This task is not waiting for central guidance."), "warning")
    except InvalidData:
        if valid:  # what the form let through was still refused
            form.summary.errors = [*form.summary.errors, str(NOT_ACCEPTED)]
        return _page(task, guidance_form=form), 422
    else:
        flash(_("The central guidance is recorded: the task may now be started."), "success")
    return redirect(url_for("tasks.show", task_id=task.id))


def _page(task: Task, fields_form: TaskFieldsForm | None = None, guidance_form: GuidanceForm | None = None):
    user = _user()
    can_edit = may_edit_task(user, task)
    waiting = task.state == TaskState.WAITING_GUIDANCE
    return render_template(
        "tasks/show.html",
        task=task,
        plan=task.plan,
        today=local_today(),
        workflow=task_workflow(task, user),
        fields_form=fields_form or (TaskFieldsForm.for_task(task, formdata=None) if can_edit else None),
        guidance_form=guidance_form or (GuidanceForm(formdata=None) if waiting else None),
        can_record_guidance=waiting and may_record_guidance(user, task),
    )


def _user() -> User:
    return current_user._get_current_object()
