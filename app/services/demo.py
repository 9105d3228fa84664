"""The demo database: the Hai Duong plan, its units, and one account per role and unit."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from app.models import Role, UnitKind
from app.services.accounts import create_or_update_user
from app.services.commune_demo import seed_commune_demo
from app.services.plan_import import import_plan, import_units, load_yaml
from workflows.deploy import sync_shipped

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DEMO_PLAN_PATH = DATA_DIR / "hai-duong-plan.yaml"
DEMO_UNITS_PATH = DATA_DIR / "hai-duong-units.yaml"
EMAIL_DOMAIN = "skhcn.haiduong.gov.vn"


class DemoAccount(NamedTuple):
    username: str
    full_name: str
    unit_code: str
    roles: tuple[str, ...]


def head_title(kind: str, unit_name: str) -> str:
    """The Vietnamese title of the head of a unit, e.g. "Trưởng phòng Công nghệ thông tin"."""
    if kind == UnitKind.DIVISION:
        return f"Trưởng phòng {unit_name.removeprefix('Phòng ')}"
    if kind == UnitKind.OFFICE:
        return f"Chánh {unit_name}"
    if kind == UnitKind.CENTRE:
        return f"Giám đốc {unit_name}"
    if kind == UnitKind.SUB_UNIT:
        return f"Phụ trách {unit_name}"
    return f"Trưởng {unit_name}"


def demo_accounts(units_data: dict) -> list[DemoAccount]:
    """A specialist and a head for every staffed unit but the leadership, then director, supervisor, admin."""
    accounts = []
    for unit in units_data["units"]:
        if unit["kind"] not in UnitKind.STAFFED or unit["kind"] == UnitKind.LEADERSHIP:
            continue
        code, name = unit["code"], unit["name"]
        accounts.append(DemoAccount(f"{code.lower()}.cv", f"Chuyên viên {name}", code, (Role.SPECIALIST,)))
        accounts.append(
            DemoAccount(f"{code.lower()}.tp", head_title(unit["kind"], name), code, (Role.UNIT_HEAD,))
        )
    department = units_data["department"]["code"]
    accounts += [
        DemoAccount("giamdoc", "Giám đốc Sở", "LDS", (Role.LEADER,)),
        DemoAccount("giamsat", "Cán bộ giám sát", department, (Role.SUPERVISOR,)),
        DemoAccount("admin", "Quản trị hệ thống", "CNTT", (Role.ADMIN,)),
    ]
    return accounts


def seed_demo(password: str) -> list[DemoAccount]:
    """Import the demo units and plan, deploy the shipped processes, create the demo accounts.

    Idempotent: seeding an already seeded database changes nothing. Flushes; the caller commits.
    """
    units_data = load_yaml(DEMO_UNITS_PATH)
    import_units(units_data)
    import_plan(load_yaml(DEMO_PLAN_PATH))
    sync_shipped()
    accounts = demo_accounts(units_data)
    for account in accounts:
        create_or_update_user(
            username=account.username,
            password=password,
            unit_code=account.unit_code,
            roles=account.roles,
            full_name=account.full_name,
            email=f"{account.username}@{EMAIL_DOMAIN}",
        )
    # communes and wards, their offices and people, and a published sample framework (kế hoạch cấp xã)
    accounts += [DemoAccount(*row) for row in seed_commune_demo(password, EMAIL_DOMAIN)]
    return accounts
