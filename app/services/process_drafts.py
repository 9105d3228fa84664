"""The modeler's drafts: open a process (new, a deployed version, or a draft), save, upload, deploy, discard.

A save always keeps the admin's work, valid or not: the draft stores what the check found wrong with it
(`problems`), and only a draft without problems deploys. Deploying makes a new immutable version
(workflows/deploy.py; running instances stay on theirs), keeps the latest version's permission map, and
removes the draft. Every change is audited; nothing here trusts the browser: the XML is read with the safe
parser and compiled again on every save and deploy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer, joinedload

from app.extensions import db
from app.models import ProcessDefinition, ProcessDraft, Task, User
from app.services.clock import utcnow
from app.services.definition_problems import (
    DEPLOYED_MEANWHILE,
    FORM_NOT_JSON,
    FORM_NOT_OBJECT,
    FORMS_UNREADABLE,
    KEY_TAKEN,
)
from workflows import audit
from workflows.bpmn_checks import is_executable
from workflows.bpmn_xml import DocumentTooLarge, parse_bpmn_xml
from workflows.definition_catalog import DefinitionVersion, definition_versions
from workflows.definition_upload import KEY_TOO_LONG, decode_document
from workflows.definitions import BPMN_NS, compile_definition
from workflows.deploy import DeployResult, deploy
from workflows.problems import DefinitionError, Problem

DRAFT_SAVED = "definition.draft_saved"
DRAFT_DISCARDED = "definition.draft_discarded"
STARTER_PATH = Path(__file__).resolve().parents[1] / "process_admin" / "starter.bpmn"
STARTER_KEY = "new_process"
STARTER_NAME = "Quy trình mới"
MAX_KEY = 100
MAX_NAME = 300
MAX_USAGE_LISTED = 50
NO_PROCESS = "the document has no process"  # a msgid of workflows/problem_text.py


class DraftRefused(ValueError):
    """A document that cannot even be kept as a draft (unsafe or malformed XML, no process)."""

    def __init__(self, problems: list[Problem], status: int = 422):
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems
        self.status = status


class DeployRefused(ValueError):
    def __init__(self, problems: list[Problem], status: int = 422):
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems
        self.status = status


@dataclass
class Document:
    """What the modeler opens: a new process, a deployed version, or a draft."""

    key: str
    name: str
    xml: str
    forms: dict
    based_on_version: int | None
    draft: ProcessDraft | None = None
    problems: list = field(default_factory=list)

    @property
    def mode(self) -> str:
        if self.draft is not None:
            return "draft"
        return "version" if self.based_on_version is not None else "new"


@dataclass(frozen=True)
class SaveResult:
    draft: ProcessDraft
    forked: bool  # the draft had been saved meanwhile by someone else: this save became a new draft


@dataclass
class ProcessSummary:
    """One process key on the admin's list: its versions (newest first), its drafts, the tasks using it."""

    key: str
    name: str
    versions: list[DefinitionVersion] = field(default_factory=list)
    drafts: list[ProcessDraft] = field(default_factory=list)
    tasks: int = 0


def catalogue() -> list[ProcessSummary]:
    counts = task_type_counts()
    by_key: dict[str, ProcessSummary] = {}
    for version in definition_versions():
        summary = by_key.setdefault(version.key, ProcessSummary(version.key, version.name))
        summary.versions.append(version)
    for draft in drafts():
        by_key.setdefault(draft.key, ProcessSummary(draft.key, draft.name)).drafts.append(draft)
    for summary in by_key.values():
        summary.tasks = counts.get(summary.key, 0)
    return sorted(by_key.values(), key=lambda summary: summary.key)


# --- opening ------------------------------------------------------------------------------------


def new_document() -> Document:
    key = _free_key(STARTER_KEY)
    xml = STARTER_PATH.read_text(encoding="utf-8")
    xml = xml.replace('"{name}"', quoteattr(STARTER_NAME)).replace("{key}", escape(key))
    return Document(key, STARTER_NAME, xml, {}, None)


def version_document(key: str, version: int | None) -> Document | None:
    definition = db.session.scalar(
        select(ProcessDefinition).where(ProcessDefinition.key == key, ProcessDefinition.version == version)
    )
    if definition is None:
        return None
    return Document(
        definition.key, definition.name, definition.bpmn_xml, dict(definition.forms or {}), version
    )


def draft_document(draft: ProcessDraft) -> Document:
    return Document(
        draft.key,
        draft.name,
        draft.xml,
        dict(draft.forms or {}),
        draft.based_on_version,
        draft,
        draft.problems,
    )


def get_draft(draft_id: int | None) -> ProcessDraft | None:
    return db.session.get(ProcessDraft, draft_id) if draft_id else None


def drafts() -> list[ProcessDraft]:
    """Every draft for the list: with who saved it (one join, not a read per person), without its
    diagram and forms (up to megabytes each; read if the draft is opened)."""
    query = select(ProcessDraft).options(
        defer(ProcessDraft.xml),
        defer(ProcessDraft.forms),
        joinedload(ProcessDraft.updated_by).lazyload(User.role_rows),
    )
    return list(db.session.scalars(query.order_by(ProcessDraft.key, ProcessDraft.id)))


def latest_version(key: str) -> int | None:
    return db.session.scalar(select(func.max(ProcessDefinition.version)).where(ProcessDefinition.key == key))


def tasks_using(key: str) -> tuple[int, list[Task]]:
    """How many plan tasks have this process as their task type, and the first of them."""
    total = db.session.scalar(select(func.count()).select_from(Task).where(Task.task_type == key)) or 0
    query = select(Task).where(Task.task_type == key).order_by(Task.id).limit(MAX_USAGE_LISTED)
    return total, list(db.session.scalars(query))


def task_type_counts() -> dict[str, int]:
    query = select(Task.task_type, func.count()).where(Task.task_type.is_not(None)).group_by(Task.task_type)
    return dict(db.session.execute(query).all())


def forms_as_text(forms: dict) -> dict[str, str]:
    """Each form as the text the panel edits (a form kept as invalid text stays that text)."""
    return {
        key: value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2)
        for key, value in forms.items()
    }


# --- checking -----------------------------------------------------------------------------------


def read_forms(text: str | None) -> tuple[dict, list[Problem]]:
    """The forms the modeler posts ({form key: JSON text or object}); an invalid one is kept as its text."""
    if not text:
        return {}, []
    try:
        posted = current_app.json.loads(text)
    except ValueError as error:
        raise DraftRefused([Problem(FORMS_UNREADABLE % {"detail": error})]) from None
    if not isinstance(posted, dict):
        raise DraftRefused([Problem(FORMS_UNREADABLE % {"detail": "not a JSON object"})])
    forms, problems = {}, []
    for key, value in posted.items():
        if isinstance(value, str):
            if not value.strip():
                continue
            try:
                value = current_app.json.loads(value)
            except ValueError as error:
                problems.append(Problem(FORM_NOT_JSON % {"form": key, "detail": error}))
                forms[str(key)] = posted[key]
                continue
        if not isinstance(value, dict):
            problems.append(Problem(FORM_NOT_OBJECT % {"form": key}))
            forms[str(key)] = posted[key] if isinstance(posted[key], str) else json.dumps(value)
            continue
        forms[str(key)] = value
    return forms, problems


def identity(document: str | bytes) -> tuple[str, str, str]:
    """(key, name, text) of a document: its first executable process (else its first process, so that a
    descriptive diagram is kept as a draft too, and its problem shown). Raises DefinitionError."""
    text = decode_document(document)
    root = parse_bpmn_xml(text)
    processes = list(root.iter(f"{{{BPMN_NS}}}process"))
    process = next((p for p in processes if is_executable(p)), processes[0] if processes else None)
    key = process.get("id") if process is not None else None
    if not key:
        raise DefinitionError([Problem(NO_PROCESS)])
    if len(key) > MAX_KEY:
        message = KEY_TOO_LONG % {"key": key, "limit": MAX_KEY}
        raise DefinitionError([Problem(message, key, process.get("name"), process.sourceline, "process")])
    participants = root.iter(f"{{{BPMN_NS}}}participant")
    participant = next((p for p in participants if p.get("processRef") == key), None)
    name = process.get("name") or (participant.get("name") if participant is not None else None) or key
    return key, name[:MAX_NAME], text


def check(xml: str, key: str, forms: dict, based_on_version: int | None) -> list[Problem]:
    """Every reason the document cannot be deployed (empty when it can)."""
    problems: list[Problem] = []
    if based_on_version is None and latest_version(key) is not None:
        problems.append(Problem(KEY_TAKEN % {"key": key}, key))
    valid_forms = {k: v for k, v in forms.items() if isinstance(v, dict)}
    try:
        compile_definition(xml, valid_forms, f"{key}.bpmn")
    except DefinitionError as error:
        problems.extend(error.problems)
    return problems


# --- changing -----------------------------------------------------------------------------------


def save_draft(
    user: User,
    xml: str,
    forms_text: str | None,
    *,
    draft: ProcessDraft | None = None,
    based_on_version: int | None = None,
    opened_key: str | None = None,
    revision: int | None = None,
    source: str = "modeler",
) -> SaveResult:
    """Keep the modeler's work as a draft (a new one, or `draft` updated), with its problems. Commits.

    A new draft opened from version `based_on_version` of `opened_key` stays a draft of that process's
    next version while the diagram keeps its process id.

    Raises DraftRefused (nothing stored) when the XML is unsafe, malformed or has no process.
    """
    try:
        key, name, xml = identity(xml)
    except DefinitionError as error:
        raise DraftRefused(error.problems, 413 if _too_large(error) else 422) from None
    forms, form_problems = read_forms(forms_text)
    forked = draft is not None and revision is not None and revision != draft.revision
    if draft is not None:
        opened_key, based_on_version = draft.key, draft.based_on_version
    if opened_key != key:
        based_on_version = None  # another process id: no longer a new version of the opened one
    problems = form_problems + check(xml, key, forms, based_on_version)
    user_id = user.id  # read before the draft is in the session: reading an expired account autoflushes
    if draft is None or forked:
        draft = ProcessDraft(revision=0)
        db.session.add(draft)
    draft.key, draft.name, draft.xml, draft.forms = key, name, xml, forms
    draft.based_on_version = based_on_version
    draft.problems = [p.as_dict() for p in problems]
    draft.revision += 1
    draft.updated_by_id, draft.updated_at = user_id, utcnow()
    db.session.flush()
    audit.record(DRAFT_SAVED, user, None, data=_audit_data(draft, source=source, forked=forked))
    db.session.commit()
    return SaveResult(draft, forked)


def upload(user: User, raw: bytes, *, draft: ProcessDraft | None = None, based_on_version: int | None = None):
    """A .bpmn file as a draft: into `draft` (its forms kept), or a new draft (with the latest version's
    forms when the file is a version of a deployed process). Commits; raises DraftRefused."""
    try:
        key, _name, text = identity(raw)
    except DefinitionError as error:
        raise DraftRefused(error.problems, 413 if _too_large(error) else 422) from None
    if draft is not None:
        forms = draft.forms
    else:
        latest = latest_version(key)
        if based_on_version is None or version_document(key, based_on_version) is None:
            based_on_version = latest
        source_version = version_document(key, based_on_version) if based_on_version else None
        forms = source_version.forms if source_version else {}
    forms_text = json.dumps(forms, ensure_ascii=False)
    revision = draft.revision if draft is not None else None
    return save_draft(
        user,
        text,
        forms_text,
        draft=draft,
        based_on_version=based_on_version,
        opened_key=key,
        revision=revision,
        source="upload",
    )


def deploy_draft(draft: ProcessDraft, user: User) -> DeployResult:
    """The draft as a new version of its process (then the draft is removed). Commits; raises
    DeployRefused with every problem when it cannot run (nothing changes then)."""
    forms = draft.forms or {}
    problems = [
        Problem(f"form '{k}' must be a JSON object") for k, v in forms.items() if not isinstance(v, dict)
    ]
    if draft.based_on_version is None and latest_version(draft.key) is not None:
        problems.append(Problem(KEY_TAKEN % {"key": draft.key}, draft.key))
    if problems:
        raise DeployRefused(problems)
    try:
        result = deploy(draft.xml, forms, f"{draft.key}.bpmn", user, _permissions_of(draft.key))
    except DefinitionError as error:
        db.session.rollback()
        raise DeployRefused(error.problems) from None
    if result.created:
        db.session.delete(draft)
    try:
        db.session.commit()
    except IntegrityError:  # another admin deployed a version of the same process at the same moment
        db.session.rollback()
        raise DeployRefused([Problem(DEPLOYED_MEANWHILE)], 409) from None
    return result


def discard(draft: ProcessDraft, user: User) -> None:
    data = _audit_data(draft)
    db.session.delete(draft)
    db.session.flush()
    audit.record(DRAFT_DISCARDED, user, None, data=data)
    db.session.commit()


def _permissions_of(key: str) -> dict | None:
    """The permission map of the latest version: the modeler does not edit maps, so a deploy keeps it."""
    latest = db.session.scalar(
        select(ProcessDefinition)
        .where(ProcessDefinition.key == key)
        .order_by(ProcessDefinition.version.desc())
    )
    return latest.permissions if latest is not None else None


def _audit_data(draft: ProcessDraft, **extra) -> dict:
    return {
        "draft_id": draft.id,
        "key": draft.key,
        "based_on_version": draft.based_on_version,
        "problems": len(draft.problems or []),
        **extra,
    }


def _too_large(error: DefinitionError) -> bool:
    return isinstance(error, DocumentTooLarge)


def _free_key(base: str) -> str:
    used = set(db.session.scalars(select(ProcessDefinition.key).distinct())) | set(
        db.session.scalars(select(ProcessDraft.key))
    )
    if base not in used:
        return base
    return next(f"{base}_{n}" for n in range(2, len(used) + 3) if f"{base}_{n}" not in used)
