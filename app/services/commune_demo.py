"""The demo's communes: a few communes and wards with their offices and people, and a published sample
framework (app/data/commune-demo.yaml). Idempotent; flushes, never commits (like app/services/demo.py).

Accounts: `<commune>.cv`, a specialist of the commune's Văn phòng HĐND-UBND (writes the plan), and
`<commune>.ct`, the chairman: a user of the commune unit itself with the role `unit_head`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import Role, Unit, UnitKind
from app.models.commune_plans import FrameworkStatus, PlanFramework
from app.services.accounts import create_or_update_user
from app.services.clock import utcnow
from app.services.plan_frameworks import FRAMEWORK_PUBLISHED, apply_payload, department_unit
from app.services.plan_import import load_yaml
from workflows import audit

COMMUNE_DEMO_PATH = Path(__file__).resolve().parent.parent / "data" / "commune-demo.yaml"

Account = tuple[str, str, str, tuple[str, ...]]  # username, full name, unit code, roles


def seed_commune_demo(password: str, email_domain: str, path: Path = COMMUNE_DEMO_PATH) -> list[Account]:
    """Create (or bring back to the file) the communes, their offices and people, and the framework."""
    data = load_yaml(path)
    accounts: list[Account] = []
    for commune_data in data["communes"]:
        commune = _unit(commune_data, UnitKind.COMMUNE, None)
        for office in commune_data["offices"]:
            _unit(office, UnitKind.COMMUNE_OFFICE, commune)
        accounts += commune_accounts(commune_data)
    for username, full_name, unit_code, roles in accounts:
        create_or_update_user(
            username=username,
            password=password,
            unit_code=unit_code,
            roles=roles,
            full_name=full_name,
            email=f"{username}@{email_domain}",
        )
    _framework(data["framework"])
    return accounts


def commune_accounts(commune: dict[str, Any]) -> list[Account]:
    code, name = commune["code"], commune["name"]
    office = commune["offices"][0]  # the first office drafts the commune's plans: Văn phòng HĐND-UBND
    return [
        (f"{code.lower()}.cv", f"Chuyên viên {office['name']}", office["code"], (Role.SPECIALIST,)),
        (f"{code.lower()}.ct", f"Chủ tịch UBND {_lower_first(name)}", code, (Role.UNIT_HEAD,)),
    ]


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def _unit(data: dict[str, Any], kind: str, parent: Unit | None) -> Unit:
    unit = db.session.scalar(select(Unit).where(Unit.code == data["code"]))
    if unit is None:
        unit = Unit(code=data["code"], external_roles=[], active=True)
        db.session.add(unit)
    unit.name, unit.kind = data["name"], kind
    unit.short_name = data.get("short_name")
    unit.aliases = list(data.get("aliases") or [])
    unit.parent = parent
    db.session.flush()
    return unit


def _framework(data: dict[str, Any]) -> PlanFramework:
    """The sample framework, published; left as it is once it exists (communes may have built on it)."""
    query = select(PlanFramework).where(
        PlanFramework.title == data["title"], PlanFramework.year == data["year"]
    )
    framework = db.session.scalar(query)
    if framework is not None:
        return framework
    payload = dict(data)
    payload["submission_due"] = str(data["submission_due"])
    framework = PlanFramework(issuer_unit=department_unit(), status=FrameworkStatus.PUBLISHED)
    apply_payload(framework, payload, creating=True)
    framework.published_at = utcnow()
    db.session.add(framework)
    db.session.flush()
    audit.record(
        FRAMEWORK_PUBLISHED,
        None,
        None,
        to_state=FrameworkStatus.PUBLISHED,
        data={
            "framework_id": framework.id,
            "year": framework.year,
            "title": framework.title,
            "source": "demo",
        },
    )
    return framework
