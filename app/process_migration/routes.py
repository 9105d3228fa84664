"""GET /admin/processes/<key>/<version>/migration: which running instances can move to this version, and
why the others cannot; POST the same path moves the chosen ones (workflows/migration.py). Admins only."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.extensions import db
from app.models import ProcessDefinition, User
from app.process_migration import bp
from workflows.errors import Conflict, NotAllowed
from workflows.migration import may_migrate, migrate, preview

MAX_ID = 2**63 - 1
RULE = "/admin/processes/<key>/<int:version>/migration"


@bp.get(RULE, endpoint="preview")
def preview_page(key: str, version: int):
    _admin()
    definition = _definition_or_404(key, version)
    candidates = preview(definition)
    return render_template(
        "process_migration/preview.html",
        definition=definition,
        movable=[c for c in candidates if c.movable],
        blocked=[c for c in candidates if not c.movable],
    )


@bp.post(RULE, endpoint="migrate")
def migrate_instances(key: str, version: int):
    user = _admin()
    definition = _definition_or_404(key, version)
    ids = chosen_ids(request.form.getlist("instance_id"))
    if not ids:
        flash(_("Choose at least one instance to move."), "warning")
    else:
        try:
            result = migrate(definition, ids, user)
        except NotAllowed:
            abort(403)
        except Conflict:
            message = _("Nothing was moved: an instance changed meanwhile, or this version is not active.")
            flash(message, "danger")
        else:
            _flash_result(result)
    return redirect(url_for("process_migration.preview", key=key, version=version))


def chosen_ids(values: list[str]) -> list[int]:
    """The ticked instance ids (values that are not ids are ignored), each once."""
    ids = {int(v) for v in values if v.isascii() and v.isdigit() and len(v) <= 18 and 0 < int(v) <= MAX_ID}
    return sorted(ids)


def _flash_result(result) -> None:
    category = "success" if result.migrated else "info"
    flash(_("Moved %(count)s instance(s) to the new version.", count=len(result.migrated)), category)
    if result.skipped:
        reasons = "; ".join(f"#{s.instance_id}: {s.reason}" for s in result.skipped)
        flash(_("Skipped %(count)s: %(reasons)s", count=len(result.skipped), reasons=reasons), "warning")


def _admin() -> User:
    user = current_user._get_current_object()
    if not may_migrate(user):
        abort(403)
    return user


def _definition_or_404(key: str, version: int) -> ProcessDefinition:
    query = select(ProcessDefinition).where(
        ProcessDefinition.key == key, ProcessDefinition.version == version
    )
    return db.first_or_404(query)
