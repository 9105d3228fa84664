"""Deploying process definitions: each changed diagram (or its forms) becomes a new immutable version."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from app.extensions import db
from app.models import ProcessDefinition, User
from app.services.clock import utcnow
from workflows.definitions import CompiledDefinition, compile_definition
from workflows.forms import load_forms
from workflows.runtime import stored_spec

SHIPPED_BPMN_DIR = Path(__file__).resolve().parent.parent / "bpmn"


@dataclass(frozen=True)
class DeployResult:
    key: str
    version: int
    created: bool


def deploy(
    xml: str, forms: dict[str, dict], source: str | None = None, user: User | None = None
) -> DeployResult:
    """Store the diagram as a new version unless the latest version is identical. Does not commit."""
    compiled = compile_definition(xml, forms, source)
    latest = db.session.scalar(
        select(ProcessDefinition)
        .where(ProcessDefinition.key == compiled.key)
        .order_by(ProcessDefinition.version.desc())
        .limit(1)
    )
    if latest is not None and latest.checksum == compiled.checksum:
        return DeployResult(latest.key, latest.version, created=False)
    version = (latest.version if latest else 0) + 1
    db.session.add(_definition_row(compiled, xml, version, source, user))
    db.session.flush()
    return DeployResult(compiled.key, version, created=True)


def _definition_row(compiled: CompiledDefinition, xml: str, version: int, source, user) -> ProcessDefinition:
    return ProcessDefinition(
        key=compiled.key,
        version=version,
        name=compiled.name,
        bpmn_xml=xml,
        checksum=compiled.checksum,
        forms=compiled.forms,
        spec=stored_spec(compiled.spec, compiled.subprocess_specs),
        source=source,
        active=True,
        deployed_at=utcnow(),
        deployed_by_id=user.id if user else None,
    )


def sync_shipped(directory: Path = SHIPPED_BPMN_DIR) -> list[DeployResult]:
    """Deploy every `<key>.bpmn` of the folder with its forms from `forms/<key>/`. Does not commit."""
    results = []
    for path in sorted(directory.glob("*.bpmn")):
        forms = load_forms(directory / "forms" / path.stem)
        results.append(deploy(path.read_text(encoding="utf-8"), forms, source=path.name))
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
