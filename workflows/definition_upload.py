"""Deploying a BPMN document someone uploaded: `POST /api/v1/process-definitions` and the admin pages.

The document is untrusted input. It is read with a bound (`read_document`: never more than 2 MB + 1
bytes, so a larger one is DocumentTooLarge → 413 without being read whole), must be UTF-8 text, and
goes through workflows/bpmn_xml.py (DTDs and entities refused before parsing, malformed XML reported
with its line) and workflows/definitions.py (every element that cannot run here, and all code checked
against the sandbox's whitelist). A refused upload raises DefinitionError listing every problem and
leaves nothing behind (the session is rolled back); an accepted one is committed and audited
(`definition.deployed`, by workflows/deploy.py).

The stored `bpmn_xml` is the document exactly as uploaded (ids, diagram layout, comments, vendor
extensions), so a download gives back the same bytes.

Forms: an upload may bring its forms (form key → JSON Schema): then they are all its forms. When it
brings none, it gets every form of the latest deployed version of that process (the key is the id of
the document's first executable process), so each user task keeps the form of the same key; a user
task that names no `form` property and has no form of its id gets the default decision form
(approve / return, workflows/forms.py) — the rule of `compile_definition`; a `form` property naming a
form that does not exist is a problem ("no form 'x'"). A new process without forms therefore runs
with decision forms only. The latest version's permission map (workflows/permissions.py) is carried
over too: an upload changes the diagram, not who may see what.

Uploading a document identical to the latest version (same diagram, same forms, same map) creates no
version: the result says `created=False` with the existing version.
"""

from __future__ import annotations

from typing import BinaryIO

from lxml import etree
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import ProcessDefinition, User
from workflows.bpmn_checks import BPMN_NS, is_executable
from workflows.bpmn_xml import MAX_BPMN_BYTES, DocumentTooLarge, parse_bpmn_xml
from workflows.deploy import DeployResult, deploy
from workflows.errors import Conflict
from workflows.problems import DefinitionError, Problem

MAX_KEY_CHARS = 100  # ProcessDefinition.key
MAX_SOURCE_CHARS = 300  # ProcessDefinition.source
TOO_LARGE = "the document is larger than %(size)s MB"
NOT_UTF8 = "the document is not UTF-8 text: save it as UTF-8"
EMPTY = "the document is empty"
KEY_TOO_LONG = "the process id '%(key)s' is longer than %(limit)s characters"


def too_large() -> DocumentTooLarge:
    return DocumentTooLarge([Problem(TOO_LARGE % {"size": MAX_BPMN_BYTES // 1024 // 1024})])


def read_document(stream: BinaryIO, limit: int = MAX_BPMN_BYTES) -> bytes:
    """At most `limit` bytes of an upload; DocumentTooLarge (without reading on) when there are more."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise too_large()
    return data


def decode_document(raw: bytes | str) -> str:
    """The document as text: UTF-8 (with or without a byte order mark), at most 2 MB, not empty."""
    if isinstance(raw, str):
        text, size = raw, len(raw.encode("utf-8"))
    else:
        size = len(raw)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            line = raw.count(b"\n", 0, error.start) + 1
            raise DefinitionError([Problem(NOT_UTF8, line=line)]) from None
    if size > MAX_BPMN_BYTES:
        raise too_large()
    if not text.strip("\ufeff \t\r\n"):
        raise DefinitionError([Problem(EMPTY)])
    return text


def process_key(xml: str) -> str | None:
    """The id of the first executable process: the key the document deploys under (as SpiffWorkflow
    picks it); None when there is none (compile_definition then says why)."""
    root = parse_bpmn_xml(xml)
    for process in root.iter(f"{{{BPMN_NS}}}process"):
        if is_executable(process):
            return process.get("id")
    return None


def latest_version(key: str | None) -> ProcessDefinition | None:
    if not key:
        return None
    query = (
        select(ProcessDefinition)
        .where(ProcessDefinition.key == key)
        .order_by(ProcessDefinition.version.desc())
        .limit(1)
    )
    return db.session.scalar(query)


def inherited_forms(latest: ProcessDefinition | None) -> dict[str, dict]:
    """The forms an upload without forms gets: the latest version's (see the module's rule)."""
    return dict(latest.forms or {}) if latest is not None else {}


def _check_key(xml: str, key: str | None) -> None:
    if key and len(key) > MAX_KEY_CHARS:
        root = parse_bpmn_xml(xml)
        node = root.xpath("//*[@id=$id]", id=key)[0]
        message = KEY_TOO_LONG % {"key": key, "limit": MAX_KEY_CHARS}
        raise DefinitionError(
            [Problem(message, key, node.get("name"), node.sourceline, etree.QName(node).localname)]
        )


def deploy_upload(
    document: bytes | str,
    user: User,
    forms: dict[str, dict] | None = None,
    source: str | None = None,
) -> DeployResult:
    """Deploy an uploaded document as a new version and commit; or raise DefinitionError (its
    DocumentTooLarge subclass for more than 2 MB) listing every problem, having stored nothing.
    Raises Conflict when another version of the process was deployed at the same moment."""
    source = " ".join((source or "").split())[:MAX_SOURCE_CHARS] or None
    try:
        xml = decode_document(document)
        key = process_key(xml)
        _check_key(xml, key)
        latest = latest_version(key)
        chosen = inherited_forms(latest) if forms is None else forms
        permissions = latest.permissions if latest is not None else None
        result = deploy(xml, chosen, source=source, user=user, permissions=permissions)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("another version of this process was deployed at the same moment: try again") from None
    except BaseException:
        db.session.rollback()
        raise
    return result
