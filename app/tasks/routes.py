"""A task's page with every field the plan gives it, its process and history; starting the process."""

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.extensions import db
from app.models import Task
from app.services.clock import local_today
from app.services.step_context import task_workflow
from app.tasks import bp
from workflows.engine import start_process
from workflows.errors import Conflict, InvalidData, NotAllowed, ProcessFailed


@bp.get("/<int:task_id>")
def show(task_id: int):
    task = db.get_or_404(Task, task_id)
    workflow = task_workflow(task, current_user._get_current_object())
    return render_template(
        "tasks/show.html", task=task, plan=task.plan, today=local_today(), workflow=workflow
    )


@bp.post("/<int:task_id>/start")
def start(task_id: int):
    task = db.get_or_404(Task, task_id)
    try:
        start_process(task, current_user._get_current_object())
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
