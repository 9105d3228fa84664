"""GET/POST /steps/<id>: see and complete a step; POST .../claim and .../release: take it or give it back;
POST .../reassign: the unit head (or a leader or an admin) gives it to a colleague."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.extensions import db
from app.models import User, WorkItem, WorkItemStatus
from app.services import step_context
from app.services.form_options import comment_from_form, data_from_form, options_for
from app.steps import bp
from app.templating import vn_datetime
from workflows.assignment import claim, may_reassign, reassign, reassign_candidates, release
from workflows.engine import advance
from workflows.errors import Conflict, InvalidData, NotAllowed, ProcessFailed
from workflows.guards import actions_for, may_see
from workflows.signals import StepVetoed


@bp.get("/<int:item_id>")
def show(item_id: int):
    return _render_step(_visible_item(item_id))


@bp.post("/<int:item_id>")
def complete(item_id: int):
    item, user = _visible_item(item_id), _user()
    schema = step_context.form_schema(item)
    data, comment = data_from_form(schema, request.form), comment_from_form(request.form)
    try:
        result = advance(item, user, data, comment)
    except InvalidData as error:
        return _render_step(item, values=data, comment=comment, errors=error.details or {}), 422
    except NotAllowed:
        abort(403)
    except Conflict:
        return _conflict(item)
    except (StepVetoed, ProcessFailed) as refused:  # say why, keep what was typed
        return _render_step(item, values=data, comment=comment, refusal=_refusal(refused)), refused.status
    flash(step_context.finished_message(item, data), "success")
    following = step_context.next_item_for(user, result.next_items)
    if following is not None:
        return redirect(url_for("steps.show", item_id=following.id))
    return redirect(url_for("tasks.show", task_id=result.task.id))


@bp.post("/<int:item_id>/claim")
def take(item_id: int):
    return _change_holder(item_id, claim, _("You took this step: only you can complete it now."))


@bp.post("/<int:item_id>/release")
def give_back(item_id: int):
    return _change_holder(item_id, release, _("The step is back with the unit: anyone eligible may take it."))


@bp.post("/<int:item_id>/reassign")
def give_to(item_id: int):
    """Give the step to the colleague chosen in `to` (workflows.assignment.reassign decides)."""
    item = _visible_item(item_id)
    try:
        reassign(item, _user(), request.form.get("to", ""))
    except NotAllowed:
        abort(403)
    except Conflict:
        if item.status != WorkItemStatus.OPEN:
            return _conflict(item)
        flash(_("Someone else has just taken or given back this step. Please look again."), "warning")
    except InvalidData:
        flash(_("Choose a colleague who may do this step."), "danger")
    else:
        name = item.assignee.full_name if item.assignee else ""
        flash(_("The step is now with %(name)s; they have been notified.", name=name), "success")
    return redirect(url_for("steps.show", item_id=item.id))


def _change_holder(item_id: int, change: Callable[[WorkItem, User], WorkItem], done: str):
    item = _visible_item(item_id)
    try:
        change(item, _user())
    except NotAllowed:
        abort(403)
    except Conflict:
        if item.status != WorkItemStatus.OPEN:
            return _conflict(item)
        flash(_("Someone else has just taken or given back this step. Please look again."), "warning")
    else:
        flash(done, "success")
    return redirect(url_for("steps.show", item_id=item.id))


def _render_step(item: WorkItem, values=None, comment=None, errors=None, refusal: str | None = None):
    schema = step_context.form_schema(item)
    return render_template(
        "steps/show.html",
        item=item,
        task=item.task,
        schema=schema,
        options=options_for(schema, item.task),
        values=step_context.previous_values(item, schema) if values is None else values,
        comment=comment,
        errors=errors or {},
        refusal=refusal,
        actions=actions_for(_user(), item),
        reassign_to=reassign_candidates(item) if may_reassign(_user(), item) else None,
        documentation=step_context.documentation(item),
        earlier=step_context.earlier_inputs(item),
        history=step_context.history_rows(item.task),
    )


def _visible_item(item_id: int) -> WorkItem:
    item = db.get_or_404(WorkItem, item_id)
    if not may_see(_user(), item):
        abort(403)
    return item


def _refusal(error: StepVetoed | ProcessFailed) -> str:
    """A veto's own words; for a diagram that cannot go on, what to do about it."""
    if isinstance(error, StepVetoed):
        return error.message
    return _("the process cannot go on from this step. Nothing was changed; please tell an administrator.")


def _conflict(item: WorkItem):
    """Say plainly that someone else got there first (and who), or that the step closed."""
    db.session.refresh(item)
    finisher = item.completed_by
    if item.status == WorkItemStatus.COMPLETED and finisher is not None and finisher.id != current_user.id:
        message = _(
            "Someone else has already completed this step: %(name)s (%(unit)s), at %(time)s.",
            name=finisher.full_name,
            unit=finisher.unit.name,
            time=vn_datetime(item.completed_at),
        )
    else:
        message = _("This step has already been dealt with or is no longer open.")
    flash(message, "warning")
    return redirect(url_for("worklist.index"))


def _user() -> User:
    return current_user._get_current_object()
