"""The dashboard (every signed-in user), a plan's timeline with unit and section filters, and the JSON
a task page's diagram viewer draws (whoever may view the task)."""

from flask import jsonify, render_template, request
from flask_login import current_user

from app.dashboard import bp
from app.extensions import db
from app.models import Plan, Task
from app.services.clock import local_today
from app.services.dashboard import dashboard
from app.services.task_queries import InvalidFilter, lead_units_of
from app.services.timeline import TimelineFilter, plan_timeline
from workflows.diagram_path import task_diagram
from workflows.permissions import may_view_task


@bp.get("/dashboard")
def index():
    board = dashboard(local_today())
    return render_template("dashboard/index.html", board=board, chart_data=board.chart_data())


@bp.get("/plans/<int:plan_id>/timeline")
def timeline(plan_id: int):
    plan = db.get_or_404(Plan, plan_id)
    try:
        chosen, errors = TimelineFilter.from_args(plan, request.args), {}
    except InvalidFilter as invalid:
        chosen, errors = TimelineFilter(), invalid.details
    return render_template(
        "dashboard/timeline.html",
        plan=plan,
        timeline=plan_timeline(plan, chosen, local_today()) if not errors else None,
        chosen=chosen,
        filter_errors=errors,
        lead_units=lead_units_of(plan),
    ), 400 if errors else 200


@bp.get("/tasks/<int:task_id>/diagram")
def task_diagram_json(task_id: int):
    task = db.session.get(Task, task_id)
    if task is None:
        return jsonify(error="not found"), 404
    if not may_view_task(current_user._get_current_object(), task):
        return jsonify(error="forbidden"), 403
    diagram = task_diagram(task)
    if diagram is None:
        return jsonify(error="no process"), 404
    return jsonify(diagram)
