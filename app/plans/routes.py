"""Plans: the list, one plan's tasks under its section headings (with filters) and its reporting
tasks ("Báo cáo định kỳ"), its indicators."""

from flask import redirect, render_template, request, url_for

from app.extensions import db
from app.models import Plan, TaskState
from app.plans import bp
from app.services import plan_queries
from app.services.clock import local_today
from app.services.plan_list import PlanListError, PlanQuery, plan_years, plans_with_task_counts, web_query
from app.services.reporting import reporting_overview
from app.services.task_queries import InvalidFilter, TaskFilter, lead_units_of, plan_tasks


@bp.get("/")
def home():
    return redirect(url_for("plans.index"))


@bp.get("/plans")
def index():
    """The plans, newest first, a page at a time (app.services.plan_list), by year and words."""
    try:
        query, errors = web_query(request.args), {}
    except PlanListError as error:
        query, errors = PlanQuery(), error.details
    return render_template(
        "plans/index.html",
        page=None if errors else plans_with_task_counts(query),
        query=query,
        errors=errors,
        years=plan_years(),
    ), 400 if errors else 200


@bp.get("/plans/<int:plan_id>")
def show(plan_id: int):
    plan = db.get_or_404(Plan, plan_id)
    framework_id = plan_queries.framework_held_by(plan)
    if framework_id is not None:  # its tasks are the communes' plans: shown with their framework
        return redirect(url_for("commune_plans.framework", framework_id=framework_id))
    today = local_today()
    try:
        task_filter, filter_errors = TaskFilter.from_args(request.args), {}
    except InvalidFilter as invalid:
        task_filter, filter_errors = None, invalid.details
    tasks = plan_tasks(plan, task_filter, today) if task_filter else []
    return render_template(
        "plans/show.html",
        plan=plan,
        today=today,
        sections=plan_queries.tasks_by_section(plan, tasks),
        task_count=len(tasks),
        task_filter=task_filter or TaskFilter(),
        filter_errors=filter_errors,
        lead_units=lead_units_of(plan),
        states=TaskState.ALL,
        documents=plan_queries.implemented_documents(plan),
        reporting=plan_queries.reporting_summary(plan),
        reporting_rows=reporting_overview(plan, today),
    ), 400 if filter_errors else 200


@bp.get("/plans/<int:plan_id>/indicators")
def indicators(plan_id: int):
    plan = db.get_or_404(Plan, plan_id)
    return render_template(
        "plans/indicators.html", plan=plan, horizons=plan_queries.indicators_by_horizon(plan)
    )
