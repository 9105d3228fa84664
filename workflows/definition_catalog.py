"""The deployed process versions as admins see them: who deployed each, when, and what runs on it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select

from app.extensions import db
from app.models import InstanceStatus, ProcessDefinition, ProcessInstance, User


@dataclass(frozen=True)
class DefinitionVersion:
    id: int
    key: str
    version: int
    name: str
    active: bool
    deployed_at: datetime
    deployed_by: str | None  # the deployer's full name; None for the shipped diagrams synced by the system
    source: str | None
    running: int  # instances running on this version
    instances: int  # all instances ever started on it


def definition_versions(key: str | None = None) -> list[DefinitionVersion]:
    """Every version (of one process, or of all), newest version of each key first; one query."""
    running = func.count(case((ProcessInstance.status == InstanceStatus.RUNNING, 1)))
    query = (
        select(ProcessDefinition, User.full_name, running, func.count(ProcessInstance.id))
        .outerjoin(User, User.id == ProcessDefinition.deployed_by_id)
        .outerjoin(ProcessInstance, ProcessInstance.definition_id == ProcessDefinition.id)
        .group_by(ProcessDefinition.id, User.full_name)
        .order_by(ProcessDefinition.key, ProcessDefinition.version.desc())
    )
    if key is not None:
        query = query.where(ProcessDefinition.key == key)
    return [
        DefinitionVersion(
            d.id, d.key, d.version, d.name, d.active, d.deployed_at, deployer, d.source, run, total
        )
        for d, deployer, run, total in db.session.execute(query)
    ]
