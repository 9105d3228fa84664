"""The modeler's work in progress: a BPMN diagram and its forms, saved by an admin, not yet deployed.

A draft may be invalid (so no work is lost); `problems` holds what the last save found wrong with it
(workflows.problems.Problem as dicts), and only a draft without problems can be deployed, which makes it a
new immutable ProcessDefinition version (workflows/deploy.py) and removes the draft.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.users import User


class ProcessDraft(db.Model):
    __tablename__ = "process_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), index=True)  # the BPMN process id
    name: Mapped[str] = mapped_column(String(300))
    xml: Mapped[str] = mapped_column(Text)
    # form key -> JSON Schema; a form whose text was not valid JSON is kept as that text (a problem says so)
    forms: Mapped[dict] = mapped_column(JSON, default=dict)
    # the deployed version of `key` it started from; None: a new process
    based_on_version: Mapped[int | None] = mapped_column(Integer)
    problems: Mapped[list] = mapped_column(JSON, default=list)
    # counts the saves: a save made on an older revision is kept as a new draft instead (no lost update)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    updated_by: Mapped[User | None] = relationship()

    @property
    def deployable(self) -> bool:
        return not self.problems
