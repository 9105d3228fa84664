"""The monthly reporting documents as people read, edit and approve them.

`load(task, period, kind)` gives what the document says now (a ReportView): while it is a draft, the
texts people saved (app.models.reports.ReportDocument) over the defaults written from the live workflow
data (report_content / report_texts) — a section nobody changed follows the data; once approved, the
snapshot taken at approval.

Approval is the reporting process's own step: the unit head signing the unit's report
(`unit_head_sign`), the leader approving the consolidated report (`leader_approval`), recording the
meeting for its minutes (`record_meeting`). A `step_completed` receiver freezes the document in the
step's transaction; edits are refused afterwards (Frozen, 409).

Who: the reporting unit's people (and its parent unit's, as workflows.guards.serves_unit), leaders,
supervisors and admins read a draft; everyone signed in reads an approved document. The unit's
specialists and unit heads edit it while it is a draft. Every saved change is audited `report.edited`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app.extensions import db
from app.models import AuditEvent, ProcessInstance, Role, Task, User
from app.models.reports import ReportDocument, ReportKind, ReportStatus
from app.services import report_texts
from app.services.clock import utcnow
from app.services.report_content import IndicatorLine, Section, TaskLine, gather, kinds_for, period_instance
from app.services.report_texts import Fields
from workflows import audit, signals
from workflows.errors import Conflict, InvalidData, NotAllowed
from workflows.guards import serves_unit

EDITED = "report.edited"
EDITED_LABEL = _l("Edited a monthly report document")  # the action's label for the history and audit pages
APPROVAL_STEPS = {
    ReportKind.UNIT: "unit_head_sign",
    ReportKind.CONSOLIDATED: "leader_approval",
    ReportKind.MINUTES: "record_meeting",
}
LIMITS = {
    "parent_body": 300,
    "issuing_body": 300,
    "number_symbol": 100,
    "place": 100,
    "summary": 1000,
    "signer_title": 200,
    "signer_name": 200,
    "secretary_title": 200,
    "secretary_name": 200,
}
SECTION_LIMIT = 20000
MAX_RECIPIENTS = 30
RECIPIENT_LIMIT = 300
HEADER_FIELDS = (*LIMITS, "doc_date")


class Frozen(Conflict):
    """The document has been approved: it no longer changes."""


class Stale(Conflict):
    """Someone saved the document after the editor opened it."""


@dataclass
class ReportView:
    kind: str
    task: Task
    instance: ProcessInstance
    fields: Fields
    tasks: list[TaskLine]
    indicators: list[IndicatorLine]
    approved: bool
    stored: ReportDocument | None = None
    defaults: Fields | None = None  # the texts written from the data (drafts only)
    approved_at: datetime | None = None

    @property
    def period(self) -> str:
        return self.instance.period or ""

    @property
    def doc_type(self) -> str:
        return "BIÊN BẢN" if self.kind == ReportKind.MINUTES else "BÁO CÁO"

    @property
    def status(self) -> str:
        return ReportStatus.APPROVED if self.approved else ReportStatus.DRAFT

    @property
    def revision(self) -> int:
        return self.stored.revision if self.stored is not None else 0

    def table(self, name: str | None) -> list:
        if name == "tasks":
            return self.tasks
        if name == "overdue":
            return [line for line in self.tasks if line.overdue]
        if name == "indicators":
            return self.indicators
        return []


# --- reading ----------------------------------------------------------------------------------------


def stored_document(task: Task, period: str, kind: str) -> ReportDocument | None:
    query = select(ReportDocument).where(
        ReportDocument.task_id == task.id, ReportDocument.period == period, ReportDocument.kind == kind
    )
    return db.session.scalar(query)


def approval_recorded(instance: ProcessInstance, kind: str) -> bool:
    """Whether the instance went through the document's approval step (also for documents nobody
    stored, e.g. approved before this feature)."""
    query = select(AuditEvent.id).where(
        AuditEvent.instance_id == instance.id,
        AuditEvent.step == APPROVAL_STEPS[kind],
        AuditEvent.action == audit.Action.STEP_COMPLETED,
    )
    return db.session.scalar(query.limit(1)) is not None


def load(task: Task, period: str, kind: str, now: datetime | None = None) -> ReportView | None:
    """The document of `kind` for the task's period, or None when the task has no such document or no
    instance for the period."""
    if kind not in kinds_for(task):
        return None
    instance = period_instance(task, period)
    if instance is None:
        return None
    doc = stored_document(task, period, kind)
    if doc is not None and doc.approved and isinstance((doc.body or {}).get("data"), dict):
        data = doc.body["data"]
        return ReportView(
            kind=kind,
            task=task,
            instance=instance,
            fields=_fields_of(doc, None),
            tasks=[TaskLine.from_json(row) for row in data.get("tasks", [])],
            indicators=[IndicatorLine(**row) for row in data.get("indicators", [])],
            approved=True,
            stored=doc,
            approved_at=doc.approved_at,
        )
    facts = gather(task, instance, kind, now or utcnow())
    defaults = report_texts.defaults(facts)
    approved = (doc is not None and doc.approved) or approval_recorded(instance, kind)
    return ReportView(
        kind=kind,
        task=task,
        instance=instance,
        fields=_fields_of(doc, defaults) if doc is not None else defaults,
        tasks=facts.tasks,
        indicators=facts.indicators,
        approved=approved,
        stored=doc,
        defaults=defaults,
    )


def _fields_of(doc: ReportDocument, defaults: Fields | None) -> Fields:
    """The stored texts; a section nobody changed takes the default's text (while a draft)."""
    body = doc.body or {}
    stored = {s.get("key"): s for s in body.get("sections", []) if isinstance(s, dict)}
    if defaults is not None:
        sections = [
            Section(s.key, s.heading, str(stored[s.key].get("text", s.text)), s.table, True)
            if stored.get(s.key, {}).get("edited")
            else s
            for s in defaults.sections
        ]
    else:
        sections = [
            Section(s["key"], s.get("heading", ""), s.get("text", ""), s.get("table"), bool(s.get("edited")))
            for s in stored.values()
        ]
    secretary = body.get("secretary") or {}
    return Fields(
        parent_body=doc.parent_body,
        issuing_body=doc.issuing_body,
        number_symbol=doc.number_symbol,
        place=doc.place,
        doc_date=doc.doc_date,
        summary=doc.summary,
        sections=sections,
        signer_title=doc.signer_title,
        signer_name=doc.signer_name,
        recipients=list(doc.recipients or []),
        secretary_title=secretary.get("title", ""),
        secretary_name=secretary.get("name", ""),
    )


# --- who may ----------------------------------------------------------------------------------------


def _of_unit(user: User, task: Task) -> bool:
    return serves_unit(user, task.lead_unit_id, task.lead_unit.parent_id)


def may_read(user: User, view: ReportView) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.active:
        return False
    if view.approved or user.has_role(Role.LEADER, Role.SUPERVISOR, Role.ADMIN):
        return True
    return _of_unit(user, view.task)


def may_edit_unit(user: User, task: Task) -> bool:
    """The reporting unit's specialists and heads (whether the document is still a draft aside)."""
    if not getattr(user, "is_authenticated", False) or not user.active:
        return False
    return user.has_role(Role.SPECIALIST, Role.UNIT_HEAD) and _of_unit(user, task)


def may_edit(user: User, view: ReportView) -> bool:
    return not view.approved and may_edit_unit(user, view.task)


# --- editing ----------------------------------------------------------------------------------------


def check(values: Fields) -> dict[str, str]:
    """Field -> what is wrong (lengths, empty required texts)."""
    errors = {}
    for name, limit in LIMITS.items():
        text = getattr(values, name)
        if not isinstance(text, str) or len(text) > limit:
            errors[name] = f"at most {limit} characters"
    for name in ("issuing_body", "summary", "signer_title"):
        if name not in errors and not getattr(values, name).strip():
            errors[name] = "required"
    if not isinstance(values.doc_date, date):
        errors["doc_date"] = "required: a date"
    for section in values.sections:
        if not isinstance(section.text, str) or len(section.text) > SECTION_LIMIT:
            errors[f"section-{section.key}"] = f"at most {SECTION_LIMIT} characters"
    if len(values.recipients) > MAX_RECIPIENTS or any(len(r) > RECIPIENT_LIMIT for r in values.recipients):
        errors["recipients"] = f"at most {MAX_RECIPIENTS} lines of {RECIPIENT_LIMIT} characters"
    return errors


def save(view: ReportView, user: User, values: Fields, revision: int | None = None) -> list[str]:
    """Store `values` as the document's texts, audited, in one commit; returns the names of the changed
    fields ([] and nothing written when nothing changed). Raises NotAllowed, Frozen, Stale, InvalidData."""
    if not may_edit_unit(user, view.task):
        raise NotAllowed("only the reporting unit's specialists and heads edit its documents")
    if view.approved:
        raise Frozen("the document has been approved and can no longer be changed")
    if revision is not None and revision != view.revision:
        raise Stale("the document was changed by someone else")
    if errors := check(values):
        raise InvalidData("invalid document", errors)
    changed = _changes(view.fields, values)
    if not changed:
        return []
    doc = view.stored or _new_document(view.task, view.instance, view.kind)
    _write(doc, values, view.defaults)
    doc.edited_by, doc.edited_at = user, utcnow()
    try:
        db.session.add(doc)
        db.session.flush()  # a concurrent first save or a newer revision fails here
        data = {"document_id": doc.id, "kind": view.kind, "period": view.period, "fields": changed}
        audit.record(EDITED, user, view.task, instance=view.instance, data=data)
        db.session.commit()
    except (IntegrityError, StaleDataError) as error:
        db.session.rollback()
        raise Stale("the document was changed by someone else") from error
    except Exception:
        db.session.rollback()
        raise
    return changed


def _changes(current: Fields, values: Fields) -> list[str]:
    changed = [name for name in HEADER_FIELDS if getattr(current, name) != getattr(values, name)]
    if [r.strip() for r in current.recipients] != [r.strip() for r in values.recipients]:
        changed.append("recipients")
    texts = {s.key: s.text for s in values.sections}
    changed += [f"section-{s.key}" for s in current.sections if s.key in texts and texts[s.key] != s.text]
    return changed


def _new_document(task: Task, instance: ProcessInstance, kind: str) -> ReportDocument:
    return ReportDocument(
        task_id=task.id,
        instance_id=instance.id,
        period=instance.period or "",
        unit_id=task.lead_unit_id,
        kind=kind,
        status=ReportStatus.DRAFT,
    )


def _write(doc: ReportDocument, values: Fields, defaults: Fields | None) -> None:
    for name in HEADER_FIELDS:
        if not name.startswith("secretary"):
            setattr(doc, name, getattr(values, name))
    doc.recipients = [r.strip() for r in values.recipients if r.strip()]
    default_texts = {s.key: s.text for s in defaults.sections} if defaults is not None else {}
    body = dict(doc.body or {})
    body["sections"] = [
        {
            "key": s.key,
            "heading": s.heading,
            "text": s.text,
            "table": s.table,
            "edited": s.edited or s.text != default_texts.get(s.key, s.text),
        }
        for s in values.sections
    ]
    body["secretary"] = {"title": values.secretary_title, "name": values.secretary_name}
    doc.body = body


# --- approval ---------------------------------------------------------------------------------------


def freeze(
    task: Task, instance: ProcessInstance, kind: str, entered: dict | None = None, now: datetime | None = None
) -> ReportDocument:
    """Make the document final with a snapshot of its data, in the caller's transaction (no commit).
    `entered`: the approving step's data (step id -> data), in case the trail does not hold it yet."""
    now = now or utcnow()
    doc = stored_document(task, instance.period or "", kind)
    facts = gather(task, instance, kind, now, entered)
    defaults = report_texts.defaults(facts)
    fields = _fields_of(doc, defaults) if doc is not None else defaults
    doc = doc or _new_document(task, instance, kind)
    _write(doc, fields, defaults)
    data = {
        "tasks": [line.as_json() for line in facts.tasks],
        "indicators": [line.as_json() for line in facts.indicators],
    }
    doc.body = doc.body | {"data": data}
    doc.status, doc.approved_at = ReportStatus.APPROVED, now
    db.session.add(doc)
    db.session.flush()
    return doc


def _on_step_completed(item, user=None, data=None, **_extra) -> None:
    task = item.task
    kinds = kinds_for(task)
    kind = next((k for k in kinds if APPROVAL_STEPS[k] == item.step), None)
    if kind is None or item.instance.period is None:
        return
    data = data if isinstance(data, dict) else {}
    if data.get("decision") == "return":
        return
    existing = stored_document(task, item.instance.period, kind)
    if existing is not None and existing.approved:
        return
    freeze(task, item.instance, kind, entered={item.step: data})


signals.step_completed.connect(_on_step_completed)
