"""GET/POST /api/v1/process-definitions/{key}/{version}/migration: which running instances can move to
this version (and why the others cannot), and moving them. Admins only; see workflows/migration.py.

GET → `{"movable": [{"instance_id", "task_id", "task_code", "task_title", "from_version", "steps"}],
"blocked": [{..., "reasons": [text]}]}`, `steps` = `[{"step", "name"}]` (the steps it waits on).
POST `{"instance_ids": [id, ...]}` (optional: without it, every movable instance) →
`{"migrated": [id], "skipped": [{"instance_id", "reason"}]}`; one transaction (409: nothing moved).
"""

from __future__ import annotations

from typing import Any

from flask.typing import ResponseReturnValue
from sqlalchemy import select

from app.api import bp
from app.api.auth import current_api_user
from app.api.errors import ApiError
from app.api.workflow_routes import optional_json_object
from app.extensions import db
from app.models import ProcessDefinition, User
from workflows.migration import Candidate, may_migrate, migrate, preview

RULE = "/process-definitions/<key>/<int:version>/migration"
MAX_IDS = 1000
MAX_ID = 2**63 - 1


@bp.get(RULE)
def migration_preview(key: str, version: int) -> ResponseReturnValue:
    _admin()
    candidates = preview(_definition_or_404(key, version))
    return {
        "movable": [_candidate_json(c) for c in candidates if c.movable],
        "blocked": [
            _candidate_json(c) | {"reasons": [r.text for r in c.reasons]} for c in candidates if not c.movable
        ],
    }


@bp.post(RULE)
def migration_run(key: str, version: int) -> ResponseReturnValue:
    user = _admin()
    definition = _definition_or_404(key, version)
    ids = _instance_ids(optional_json_object())
    result = migrate(definition, ids, user)  # a WorkflowError is a JSON error (workflow_routes)
    return {
        "migrated": result.migrated,
        "skipped": [{"instance_id": s.instance_id, "reason": s.reason} for s in result.skipped],
    }


def _instance_ids(body: dict[str, Any]) -> list[int] | None:
    if "instance_ids" not in body or body["instance_ids"] is None:
        return None
    ids = body["instance_ids"]
    valid = isinstance(ids, list) and len(ids) <= MAX_IDS
    valid = valid and all(type(i) is int and 0 < i <= MAX_ID for i in ids)
    if not valid:
        message = f"must be a list of at most {MAX_IDS} instance ids (positive integers)"
        raise ApiError(400, "invalid fields", {"instance_ids": message})
    return sorted(set(ids))


def _candidate_json(candidate: Candidate) -> dict[str, Any]:
    task = candidate.task
    return {
        "instance_id": candidate.instance.id,
        "task_id": task.id,
        "task_code": task.code,
        "task_title": task.title,
        "from_version": candidate.from_version,
        "steps": [{"step": s.step, "name": s.name} for s in candidate.steps],
    }


def _admin() -> User:
    user = current_api_user()
    if not may_migrate(user):
        raise ApiError(403, "only administrators move instances to another version")
    return user


def _definition_or_404(key: str, version: int) -> ProcessDefinition:
    query = select(ProcessDefinition).where(
        ProcessDefinition.key == key, ProcessDefinition.version == version
    )
    definition = db.session.scalar(query)
    if definition is None:
        raise ApiError(404, f"no version {version} of process '{key}'")
    return definition
