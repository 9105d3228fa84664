"""A task's page with every field the plan gives it."""

from flask import render_template

from app.extensions import db
from app.models import Task
from app.services.clock import local_today
from app.tasks import bp


@bp.get("/<int:task_id>")
def show(task_id: int):
    task = db.get_or_404(Task, task_id)
    return render_template("tasks/show.html", task=task, plan=task.plan, today=local_today())
