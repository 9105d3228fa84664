"""Admins' process pages: the list of processes and versions, the modeler (bpmn-js), drafts, deploys.

GET  /admin/processes                 every process with its versions and drafts
GET  /admin/processes/modeler         the modeler: ?draft=<id>, ?key=<key>&version=<n>, or a new process
GET  /admin/processes/download        the .bpmn of ?draft=<id> or ?key=<key>&version=<n>
POST /admin/processes/drafts          save the modeler's diagram and forms as a draft (valid or not)
POST /admin/processes/upload          a .bpmn file as a draft
POST /admin/processes/deploy          a valid draft as a new version
POST /admin/processes/discard         remove a draft
POST /admin/processes/form-preview    a form's JSON Schema rendered as the step page renders it (HTML)

Admins only (403 for everyone else), CSRF on every POST; the rules live in app/services/process_drafts.py.
"""

from __future__ import annotations

from json import JSONDecodeError

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from jinja2 import TemplateError
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from app import labels
from app.input_limits import MAX_DATABASE_ID
from app.models import Role, TaskState, User
from app.process_admin import bp
from app.services import process_drafts as drafts
from app.services.definition_problems import shown
from app.services.form_options import options_for
from workflows.bpmn_xml import MAX_BPMN_BYTES
from workflows.forms import DEFAULT_DECISION_FORM
from workflows.lanes import known_lane_names, roles_for_lane
from workflows.steps import UNIT_RULES

MIGRATION_ENDPOINT = "process_migration.preview"
UNIT_RULE_LABELS = {
    "lead": _l("The task's lead unit"),
    "item": _l("The unit of the item (e.g. a consulted unit)"),
    "any": _l("No unit (e.g. the department's leaders)"),
}


@bp.get("/admin/processes")
def index():
    _admin()
    return _index_page()


@bp.get("/admin/processes/modeler")
def modeler():
    _admin()
    return _modeler_page(_requested_document(request.args))


@bp.get("/admin/processes/download")
def download():
    _admin()
    document = _requested_document(request.args, allow_new=False)
    if document.draft is not None:
        filename = f"{document.key}-draft-{document.draft.id}.bpmn"
    else:
        filename = f"{document.key}-v{document.based_on_version}.bpmn"
    response = Response(document.xml, mimetype="application/xml")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.post("/admin/processes/drafts")
def save():
    user = _admin()
    draft = _posted_draft()
    try:
        result = drafts.save_draft(
            user,
            request.form.get("xml", ""),
            request.form.get("forms"),
            draft=draft,
            based_on_version=_id(request.form, "based_on_version"),
            opened_key=request.form.get("key"),
            revision=request.form.get("revision", type=int),
        )
    except drafts.DraftRefused as refused:
        return _modeler_page(_context_document(draft), refusal=refused.problems), refused.status
    _flash_saved(result)
    return redirect(url_for(".modeler", draft=result.draft.id), 303)


@bp.post("/admin/processes/upload")
def upload():
    user = _admin()
    draft = _posted_draft()
    file = request.files.get("file")
    raw = file.read(MAX_BPMN_BYTES + 1) if file is not None else b""
    try:
        result = drafts.upload(user, raw, draft=draft, based_on_version=_id(request.form, "based_on_version"))
    except drafts.DraftRefused as refused:
        if draft is None and not request.form.get("key"):  # from the list of processes
            return _index_page(upload_refusal=shown(refused.problems)), refused.status
        return _modeler_page(_context_document(draft), refusal=refused.problems), refused.status
    _flash_saved(result)
    return redirect(url_for(".modeler", draft=result.draft.id), 303)


@bp.post("/admin/processes/deploy")
def deploy():
    user = _admin()
    draft = _posted_draft(required=True)
    try:
        result = drafts.deploy_draft(draft, user)
    except drafts.DeployRefused as refused:
        document = drafts.draft_document(drafts.get_draft(draft.id) or draft)
        return _modeler_page(document, refusal=refused.problems, refused_deploy=True), refused.status
    if not result.created:
        flash(_("Nothing to deploy: the draft is identical to version %(n)s.", n=result.version), "info")
        return redirect(url_for(".modeler", draft=draft.id), 303)
    flash(_("Deployed %(key)s version %(n)s.", key=result.key, n=result.version), "success")
    return redirect(url_for(".index", deployed=result.key, version=result.version), 303)


@bp.post("/admin/processes/discard")
def discard():
    user = _admin()
    drafts.discard(_posted_draft(required=True), user)
    flash(_("The draft was discarded."), "info")
    return redirect(url_for(".index"), 303)


@bp.post("/admin/processes/form-preview")
def form_preview():
    _admin()
    text = request.form.get("schema", "")
    if not text.strip() and request.form.get("default"):
        return _preview(DEFAULT_DECISION_FORM, note=_("The default decision form (agree / return)."))
    try:
        schema = current_app.json.loads(text)
    except ValueError as error:
        detail = str(error)
        if isinstance(error, JSONDecodeError):
            where = _("(line %(line)s, column %(column)s)", line=error.lineno, column=error.colno)
            detail = f"{error.msg} {where}"
        return _preview_refused(_("The form is not valid JSON: %(detail)s", detail=detail))
    if not isinstance(schema, dict) or not all(
        isinstance(field, dict) for field in (schema.get("properties") or {}).values()
    ):
        return _preview_refused(_("The form must be a JSON object whose properties are objects."))
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as error:
        return _preview_refused(_("The form is not a valid JSON Schema: %(detail)s", detail=error.message))
    return _preview(schema)


# --- helpers ------------------------------------------------------------------------------------


def _id(values, name: str) -> int | None:
    """A positive integer that fits an INTEGER column (others read as absent: a 404, never a 500)."""
    value = values.get(name, type=int)
    return value if value is not None and 0 < value <= MAX_DATABASE_ID else None


def _admin() -> User:
    if not current_user.is_authenticated or not current_user.has_role(Role.ADMIN):
        abort(403)
    return current_user._get_current_object()


def _index_page(upload_refusal=None):
    return render_template(
        "process_admin/index.html",
        processes=drafts.catalogue(),
        deployed=_deployed_notice(),
        upload_refusal=upload_refusal or [],
        migration_url=migration_url,
        task_type_labels=labels.TASK_TYPE_LABELS,
    )


def migration_url(key: str, version: int) -> str | None:
    """The migration page of a version, once the process_migration blueprint provides it."""
    if MIGRATION_ENDPOINT not in current_app.view_functions:
        return None
    return url_for(MIGRATION_ENDPOINT, key=key, version=version)


def _deployed_notice() -> dict | None:
    key, version = request.args.get("deployed"), _id(request.args, "version")
    if not key or version is None or drafts.version_document(key, version) is None:
        return None
    return {"key": key, "version": version, "migration_url": migration_url(key, version)}


def _requested_document(args, allow_new: bool = True) -> drafts.Document:
    if args.get("draft"):
        draft = drafts.get_draft(_id(args, "draft"))
        if draft is None:
            abort(404)
        return drafts.draft_document(draft)
    if args.get("key") or args.get("version"):
        document = drafts.version_document(args.get("key", ""), _id(args, "version"))
        if document is None:
            abort(404)
        return document
    if not allow_new:
        abort(404)
    return drafts.new_document()


def _posted_draft(required: bool = False):
    if not request.form.get("draft_id") and not required:
        return None
    draft = drafts.get_draft(_id(request.form, "draft_id"))
    if draft is None:
        abort(404)
    return draft


def _context_document(draft) -> drafts.Document:
    """The document a refused request came from, to show it again with the reason."""
    if draft is not None:
        return drafts.draft_document(draft)
    key, version = request.form.get("key", ""), _id(request.form, "based_on_version")
    return drafts.version_document(key, version) or drafts.new_document()


def _flash_saved(result: drafts.SaveResult) -> None:
    if result.forked:
        flash(_("Someone saved this draft meanwhile: your work was saved as a new draft."), "warning")
    elif result.draft.deployable:
        flash(_("Draft saved. It is valid: it can be deployed."), "success")
    else:
        count = len(result.draft.problems)
        flash(_("Draft saved, with %(n)s problem(s) to fix before it can be deployed.", n=count), "warning")


def _modeler_page(document: drafts.Document, refusal=None, refused_deploy: bool = False):
    problems = shown(refusal if refused_deploy else document.problems)
    usage_total, usage = drafts.tasks_using(document.key)
    return render_template(
        "process_admin/modeler.html",
        document=document,
        problems=problems,
        problems_data=[problem.as_dict() for problem in problems],
        refusal=shown(refusal) if refusal and not refused_deploy else [],
        refused_deploy=refused_deploy,
        forms_text=drafts.forms_as_text(document.forms),
        latest=drafts.latest_version(document.key),
        usage_total=usage_total,
        usage=usage,
        choices=_panel_choices(),
        task_type_label=labels.TASK_TYPE_LABELS.get(document.key),
    )


def _panel_choices() -> dict:
    role_label = {role: str(label) for role, label in labels.ROLE_LABELS.items()}
    return {
        "lanes": [
            (name, ", ".join(role_label.get(role, role) for role in roles_for_lane(name)))
            for name in known_lane_names()
        ],
        "roles": list(role_label.items()),
        "task_states": [(state, str(labels.TASK_STATE_LABELS.get(state, state))) for state in TaskState.ALL],
        "unit_rules": [(rule, str(UNIT_RULE_LABELS[rule])) for rule in UNIT_RULES],
    }


def _preview(schema: dict, note: str | None = None):
    try:
        return render_template(
            "process_admin/_form_preview.html", schema=schema, options=options_for(schema), note=note
        )
    except (TemplateError, TypeError, AttributeError, KeyError, ValueError):
        return _preview_refused(_("This form cannot be shown: check the types of its fields."))


def _preview_refused(message: str):
    return render_template("process_admin/_form_preview.html", schema=None, message=message), 422
