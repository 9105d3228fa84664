"""The dashboard (every signed-in user; every plan or one), its full lists of tasks a page at a time, a
plan's timeline with unit and section filters, and the JSON a task page's diagram viewer draws (whoever
may view the task)."""

from flask import abort, jsonify, render_template, request
from flask_login import current_user

from app.dashboard import bp
from app.extensions import db
from app.models import Plan, Task
from app.services.clock import local_today
from app.services.dashboard import dashboard
from app.services.dashboard_lists import (
    InvalidListRequest,
    ListRequest,
    department_plan,
    list_request,
    task_list,
)
from app.services.task_queries import InvalidFilter, lead_units_of
from app.services.timeline import TimelineFilter, plan_timeline
from workflows.diagram_path import task_diagram
from workflows.permissions import may_view_task


@bp.get("/dashboard")
def index():
    """Every plan of the department, or one (`plan`); `units=all` shows every lead unit's row."""
    errors: dict[str, str] = {}
    plan = department_plan(request.args.get("plan"), errors)
    if errors:
        abort(404 if errors["plan"] == "no such plan" else 400)
    board = dashboard(local_today(), plan, all_units=request.args.get("units") == "all")
    return render_template("dashboard/index.html", board=board, chart_data=board.chart_data())


@bp.get("/dashboard/tasks")
def tasks():
    """A whole list of the dashboard (`show` overdue, due_soon or gaps), a page at a time, for every plan
    or one (`plan`) and every lead unit or one (`unit`)."""
    try:
        chosen, errors = list_request(request.args), {}
    except InvalidListRequest as invalid:
        chosen, errors = ListRequest(), invalid.details
    listing = None if errors else task_list(chosen.scope, local_today(), chosen.kind, chosen.page)
    return render_template(
        "dashboard/tasks.html", chosen=chosen, listing=listing, errors=errors, today=local_today()
    ), 400 if errors else 200


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
