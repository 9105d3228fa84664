"""A plan's indicators with where each stands, one indicator's page (history, chart, entry form), and
recording a value (app.services.indicator_values decides who may and what is valid)."""

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.extensions import db
from app.indicators import bp
from app.indicators.forms import IndicatorValueForm
from app.models import Indicator, Plan, User
from app.services import indicator_values
from app.services.clock import local_today
from workflows.errors import InvalidData, NotAllowed


@bp.get("/plans/<int:plan_id>/indicators/tracking")
def plan_tracking(plan_id: int):
    plan = db.get_or_404(Plan, plan_id)
    return render_template(
        "indicators/tracking.html", plan=plan, horizons=indicator_values.plan_rows(plan, local_today())
    )


@bp.get("/indicators/<int:indicator_id>")
def show(indicator_id: int):
    return _page(db.get_or_404(Indicator, indicator_id))


@bp.post("/indicators/<int:indicator_id>/values")
def record(indicator_id: int):
    indicator, user = db.get_or_404(Indicator, indicator_id), _user()
    if not indicator_values.may_record(user, indicator):
        abort(403)
    form = IndicatorValueForm()
    if not form.validate_on_submit():
        return _page(indicator, form), 422
    try:
        indicator_values.record_value(
            indicator, user, form.period.data, form.value.data, form.note.data, form.evidence.data
        )
    except NotAllowed:
        abort(403)
    except InvalidData as error:
        form.show_service_errors(error.details or {})
        return _page(indicator, form), 422
    flash(_("The value was recorded."), "success")
    return redirect(url_for("indicators.show", indicator_id=indicator.id))


def _page(indicator: Indicator, form: IndicatorValueForm | None = None):
    user = _user()
    allowed = indicator_values.may_record(user, indicator)
    return render_template(
        "indicators/show.html",
        indicator=indicator,
        plan=indicator.plan,
        row=indicator_values.indicator_row(indicator, local_today()),
        history=indicator_values.history(indicator),
        chart=indicator_values.chart_data(indicator),
        responsible=indicator_values.responsible_unit(indicator),
        form=form or (IndicatorValueForm(formdata=None) if allowed else None),
        allowed=allowed,
    )


def _user() -> User:
    return current_user._get_current_object()
