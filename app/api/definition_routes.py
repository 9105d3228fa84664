"""Process definitions in the JSON API v1 (admins only): list the versions, upload a BPMN document,
download a version's document exactly as it was uploaded.

`POST /process-definitions` takes the document as the body (`Content-Type: application/xml`,
`text/xml` or `application/bpmn+xml`) or as the multipart field `file`, with an optional multipart
field `forms` (a JSON object: form key → JSON Schema). It answers 201 `{"key","version","created":true}`
for a new version, 200 with `created: false` and the existing version when the latest version is
identical (nothing is stored), 413 over 2 MB (told by Content-Length before reading, or after reading
2 MB + 1 byte at most), 422 when the document cannot run here, with `details` listing every problem
as `{"element_id","element_name","element_type","line","message"}` (the message in the request's
language, like the field messages of other 422s). The rules are workflows/definition_upload.py's.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import FileStorage

from app.api import bp
from app.api.auth import current_api_user
from app.api.errors import ApiError
from app.api.serializers import iso_timestamp
from app.extensions import db
from app.models import ProcessDefinition, Role, User
from workflows.bpmn_xml import MAX_BPMN_BYTES, DocumentTooLarge
from workflows.definition_catalog import definition_versions
from workflows.definition_upload import deploy_upload, read_document, too_large
from workflows.errors import WorkflowError
from workflows.problem_text import problems_json
from workflows.problems import DefinitionError

XML_TYPES = ("application/xml", "text/xml", "application/bpmn+xml")
MAX_FORMS_BYTES = 500_000  # werkzeug's default bound for a multipart text field (MAX_FORM_MEMORY_SIZE)
# The whole request: the document, its forms and the multipart envelope (the document's own bound is
# checked on its own, so a 2 MB document is not refused for its envelope).
BODY_LIMIT = MAX_BPMN_BYTES + MAX_FORMS_BYTES + 64 * 1024
DOWNLOAD_HEADERS = {"Cache-Control": "no-store", "Content-Security-Policy": "sandbox; default-src 'none'"}


def _with_body_limit(view):
    view.body_limit = BODY_LIMIT
    return view


def _raise_body_limit(endpoint: str | None, values: dict | None) -> None:
    """Runs before the before_request hooks (which may parse a multipart body), so the limit applies."""
    view = current_app.view_functions.get(endpoint or "")
    limit = getattr(view, "body_limit", None)
    if limit is not None:
        request.max_content_length = limit


bp.url_value_preprocessor(_raise_body_limit)


def _admin() -> User:
    user = current_api_user()
    if not user.has_role(Role.ADMIN):
        raise ApiError(403, "only administrators manage process definitions")
    return user


@bp.get("/process-definitions")
def list_process_definitions() -> ResponseReturnValue:
    """Every version, newest of each process first; `?key=` for one process. `instances`: every
    instance ever started on the version; `running`: those running on it now."""
    _admin()
    key = request.args.get("key") or None
    items = [
        {
            "key": v.key,
            "version": v.version,
            "name": v.name,
            "active": v.active,
            "instances": v.instances,
            "running": v.running,
            "deployed_at": iso_timestamp(v.deployed_at),
            "deployed_by": v.deployed_by,
            "source": v.source,
            "url": url_for("api.process_definition_xml", key=v.key, version=v.version),
        }
        for v in definition_versions(key)
    ]
    return {"items": items}


@bp.post("/process-definitions")
@_with_body_limit
def upload_process_definition() -> ResponseReturnValue:
    user = _admin()
    document, forms, source = _upload()
    try:
        result = deploy_upload(document, user, forms, source)
    except DocumentTooLarge as error:
        raise ApiError(413, "the document is larger than 2 MB", problems_json(error.problems)) from None
    except DefinitionError as error:
        raise ApiError(422, "the process cannot run here", problems_json(error.problems)) from None
    except WorkflowError as error:
        raise ApiError(error.status, error.message, error.details) from None
    location = url_for("api.process_definition_xml", key=result.key, version=result.version)
    body = {"key": result.key, "version": result.version, "created": result.created, "url": location}
    return body, 201 if result.created else 200, {"Location": location}


@bp.get("/process-definitions/<key>/<int:version>")
def process_definition_xml(key: str, version: int) -> ResponseReturnValue:
    """The version's BPMN document exactly as uploaded (a file to save, never a page to render)."""
    _admin()
    definition = db.session.query(ProcessDefinition).filter_by(key=key, version=version).one_or_none()
    if definition is None:
        raise ApiError(404, f"no version {version} of process {key!r}")
    response = Response(definition.bpmn_xml.encode("utf-8"), mimetype="application/xml")
    response.headers.update(DOWNLOAD_HEADERS)
    filename = f"{definition.key}-v{definition.version}.bpmn"
    response.headers.set("Content-Disposition", "attachment", filename=filename)
    return response


def _upload() -> tuple[bytes, dict[str, dict] | None, str | None]:
    """(document, forms or None, source name) from the body, or a 400 / 413 / 415."""
    if request.mimetype in XML_TYPES:
        if (request.content_length or 0) > MAX_BPMN_BYTES:
            raise ApiError(413, "the document is larger than 2 MB", problems_json(too_large().problems))
        return _read(request.stream), None, "api upload"
    if request.mimetype == "multipart/form-data":
        sent = request.files.get("file")
        if sent is None:
            raise ApiError(400, "send the document as the multipart field `file`", {"file": "required"})
        return _read(sent.stream), _forms(), sent.filename or "api upload"
    raise ApiError(415, "send the BPMN document as application/xml, or as the multipart field `file`")


def _read(stream) -> bytes:
    try:
        return read_document(stream)
    except DocumentTooLarge as error:
        raise ApiError(413, "the document is larger than 2 MB", problems_json(error.problems)) from None


def _forms() -> dict[str, dict] | None:
    """The multipart field `forms` (text, or a file): a JSON object of JSON Schemas; None when absent."""
    field: Any = request.form.get("forms")
    if field is None and isinstance(request.files.get("forms"), FileStorage):
        raw = request.files["forms"].stream.read(MAX_FORMS_BYTES + 1)
        if len(raw) > MAX_FORMS_BYTES:
            raise ApiError(413, "the forms are larger than 500 KB")
        field = raw.decode("utf-8", errors="replace")
    if field is None:
        return None
    try:
        forms = current_app.json.loads(field)
    except ValueError:
        forms = None
    if not isinstance(forms, dict) or not all(
        isinstance(k, str) and isinstance(v, dict) for k, v in forms.items()
    ):
        raise ApiError(
            400, "`forms` must be a JSON object of JSON Schemas", {"forms": "form key → JSON Schema"}
        )
    return forms
