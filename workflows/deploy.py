"""Deploying process definitions: each changed diagram (or its forms, or its permission map) becomes a new
immutable version."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from app.extensions import db
from app.models import ProcessDefinition, User
from app.services.clock import utcnow
from workflows import audit
from workflows.definitions import CompiledDefinition, compile_definition
from workflows.forms import load_forms
from workflows.permissions import load_permission_map, validate_permission_map
from workflows.runtime import stored_spec

SHIPPED_BPMN_DIR = Path(__file__).resolve().parent.parent / "bpmn"


@dataclass(frozen=True)
class DeployResult:
    key: str
    version: int
    created: bool


def deploy(
    xml: str,
    forms: dict[str, dict],
    source: str | None = None,
    user: User | None = None,
    permissions: dict | None = None,
) -> DeployResult:
    """Store the diagram as a new version unless the latest version is identical (audited as
    `definition.deployed` with its key, version and checksum). Does not commit.

    `permissions` is the process's per-state permission map (workflows/permissions.py), checked here;
    None keeps the built-in default. A changed map makes a new version, like a changed form.
    """
    if permissions is not None:
        validate_permission_map(permissions, f"permissions of {source or 'the process'}")
    compiled = compile_definition(xml, forms, source)
    checksum = checksum_with_permissions(compiled.checksum, permissions)
    latest = db.session.scalar(
        select(ProcessDefinition)
        .where(ProcessDefinition.key == compiled.key)
        .order_by(ProcessDefinition.version.desc())
        .limit(1)
    )
    if latest is not None and latest.checksum == checksum:
        return DeployResult(latest.key, latest.version, created=False)
    version = (latest.version if latest else 0) + 1
    db.session.add(_definition_row(compiled, xml, version, source, user, permissions, checksum))
    db.session.flush()
    deployed = {"key": compiled.key, "version": version, "checksum": checksum, "source": source}
    audit.record(audit.Action.DEFINITION_DEPLOYED, user, None, data=deployed)
    return DeployResult(compiled.key, version, created=True)


def checksum_with_permissions(checksum: str, permissions: dict | None) -> str:
    """The version's identity with its permission map; without one, the diagram's and forms' alone."""
    if permissions is None:
        return checksum
    digest = hashlib.sha256(checksum.encode("ascii"))
    digest.update(json.dumps(permissions, sort_keys=True, ensure_ascii=False).encode("utf-8"))
    return digest.hexdigest()


def _definition_row(
    compiled: CompiledDefinition,
    xml: str,
    version: int,
    source,
    user,
    permissions: dict | None,
    checksum: str,
) -> ProcessDefinition:
    return ProcessDefinition(
        key=compiled.key,
        version=version,
        name=compiled.name[:300],  # the column's length (a process's name may be longer)
        bpmn_xml=xml,
        checksum=checksum,
        forms=compiled.forms,
        permissions=permissions,
        spec=stored_spec(compiled.spec, compiled.subprocess_specs),
        source=source,
        active=True,
        deployed_at=utcnow(),
        deployed_by_id=user.id if user else None,
    )


def sync_shipped(directory: Path = SHIPPED_BPMN_DIR) -> list[DeployResult]:
    """Deploy every `<key>.bpmn` of the folder with its forms from `forms/<key>/` and its permission map
    from `permissions/<key>.json` (when there is one). Does not commit."""
    results = []
    for path in sorted(directory.glob("*.bpmn")):
        forms = load_forms(directory / "forms" / path.stem)
        permissions = load_permission_map(directory / "permissions" / f"{path.stem}.json")
        xml = path.read_text(encoding="utf-8")
        results.append(deploy(xml, forms, source=path.name, permissions=permissions))
    return results


def instance_counts() -> dict[int, int]:
    """Running instances per definition id."""
    from app.models import InstanceStatus, ProcessInstance

    query = (
        select(ProcessInstance.definition_id, func.count())
        .where(ProcessInstance.status == InstanceStatus.RUNNING)
        .group_by(ProcessInstance.definition_id)
    )
    return dict(db.session.execute(query).all())
