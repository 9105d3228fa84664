"""Making more of what a page lists, for tests/test_query_counts.py: processes started and advanced
through workflows.engine (history, hand-overs, consulted units), and rows made through the services
(audit rows, indicator values, accounts, units, communes and their plans, process versions) or, for
plain rows an import or the scheduler writes (tasks, notifications), through the ORM.

Everything works in the current app context (the `app` fixture's) and commits.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Indicator,
    Notification,
    NotificationKind,
    Plan,
    ProcessDefinition,
    Role,
    Task,
    TaskCoordination,
    TaskState,
    Unit,
    User,
    WorkItem,
    WorkItemStatus,
)
from app.models.commune_plans import PlanFramework
from app.services.clock import local_today, utcnow
from app.services.commune_plans import create_commune_plan
from app.services.indicator_values import record_value
from app.services.process_drafts import save_draft
from app.services.unit_admin import UnitChanges, create_unit
from app.services.user_admin import create_user
from tests.engine_helpers import form_of, sample_data
from tests.migration_helpers import PERMISSIONS, SHIPPED_FORMS, SHIPPED_XML, with_legal_review
from workflows.assignment import claim, delegate
from workflows.audit import Action, record
from workflows.deploy import deploy
from workflows.engine import advance, start_process
from workflows.guards import may_act


def plan_id() -> int:
    """The demo plan (the department's only one)."""
    return db.session.scalars(select(Plan.id).order_by(Plan.id)).first()


def demo_user(username: str) -> User:
    return db.session.scalars(select(User).where(User.username == username)).one()


def demo_task(code: str) -> Task:
    return db.session.scalars(select(Task).where(Task.code == code, Task.kind == "plan")).one()


def open_steps(task: Task, step: str | None = None) -> list[WorkItem]:
    db.session.expire_all()
    query = select(WorkItem).where(WorkItem.task_id == task.id, WorkItem.status == WorkItemStatus.OPEN)
    if step is not None:
        query = query.where(WorkItem.step == step)
    return list(db.session.scalars(query.order_by(WorkItem.id)))


def actor_for(item: WorkItem) -> User:
    """A demo account that may complete the item now (the department's people before the others)."""
    people = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.id))
    return next(person for person in people if may_act(person, item))


def complete(item: WorkItem, comment: str | None = None, **data) -> None:
    """Complete the item as someone who may, with the minimal valid data of its form plus `data`."""
    advance(item, actor_for(item), sample_data(form_of(item), **data), comment)


def drive(code: str, until: str, username: str = "cntt.cv") -> Task:
    """Start task `code`'s process and complete its steps (approving) until a step `until` is open."""
    task = demo_task(code)
    start_process(task, demo_user(username))
    for _ in range(20):
        items = open_steps(task)
        if any(item.step == until for item in items):
            return task
        complete(items[0])
    raise AssertionError(f"{code}: no open step {until!r}")


def return_and_redo(task: Task, times: int) -> None:
    """The unit head returns the draft `times` times (with a comment); each time it is drafted again."""
    for number in range(times):
        (review,) = open_steps(task, "review_draft")
        complete(review, f"Sửa lại lần {number + 1}", decision="return")
        (draft,) = open_steps(task, "draft")
        complete(draft)


def add_tasks(count: int) -> None:
    """`count` more tasks in the plan's sections, as an import makes them: led by CNTT or by a new unit
    in turn, each coordinated by a new unit and KHTC, with an assignee, a lead sub-unit or not, an
    expected result or not, and deadlines from ten days ago to ten days ahead (overdue, due soon)."""
    plan = db.session.get(Plan, plan_id())
    cntt = db.session.scalars(select(Unit).where(Unit.code == "CNTT")).one()
    khtc = db.session.scalars(select(Unit).where(Unit.code == "KHTC")).one()
    people = list(db.session.scalars(select(User).where(User.unit_id == cntt.id)))
    start = db.session.scalar(select(func.max(Task.position)).where(Task.plan_id == plan.id)) or 0
    today = local_today()
    for number in range(start + 1, start + count + 1):
        unit = Unit(code=f"DV{number}", name=f"Đơn vị {number}", kind="division", external_roles=[])
        task = Task(
            plan=plan,
            section=plan.sections[number % len(plan.sections)],
            code=f"N.{number}",
            position=number,
            title=f"Nhiệm vụ bổ sung {number}",
            content="Nội dung nhiệm vụ bổ sung",
            lead_unit=cntt if number % 2 else unit,
            lead_sub_unit=khtc if number % 3 else None,
            assignee=people[number % len(people)],
            due_date=today + timedelta(days=number % 21 - 10),
            recurrence=["none"],
            expected_result="Báo cáo kết quả" if number % 4 else None,
            task_type="draft_plan",
            state=TaskState.NOT_STARTED,
        )
        task.coordinations = [
            TaskCoordination(unit=unit, position=1),
            TaskCoordination(unit=khtc, position=2),
        ]
        db.session.add_all([unit, task])
    db.session.commit()


def leader_returns(task, times: int) -> None:
    """The leader sends the consolidation back `times` times; each time the specialist takes it, hands it
    to a colleague of the unit and it is consolidated again."""
    for number in range(times):
        complete(open_steps(task, "leader_approval")[0], f"Chưa đạt, lần {number + 1}", decision="return")
        claim(open_steps(task, "consolidate")[0], demo_user("cntt.cv"))
        delegate(open_steps(task, "consolidate")[0], demo_user("cntt.cv"), "cntt.cv")
        complete(open_steps(task, "consolidate")[0])


def hand_over_and_approve(task) -> None:
    """The unit head takes the review, hands it over (to himself: the unit has one head) and approves;
    Văn phòng Sở's specialist takes the request for its opinion."""
    claim(open_steps(task, "review_draft")[0], demo_user("cntt.tp"))
    delegate(open_steps(task, "review_draft")[0], demo_user("cntt.tp"), "cntt.tp")
    complete(open_steps(task, "review_draft")[0], decision="approve")
    claim(next(item for item in open_steps(task) if item.item_unit.code == "VP"), demo_user("vp.cv"))


def audit_rows(count: int) -> None:
    """`count` audit rows through workflows.audit.record: steps done by CNTT's people (and, between them,
    rows of other units that the filter leaves out) on every task of the plan, an hour apart."""
    people = [demo_user(name) for name in ("cntt.cv", "cntt.tp", "admin", "vp.cv", "hts.cv")]
    tasks = list(db.session.scalars(select(Task).where(Task.plan_id == plan_id()).order_by(Task.id)))
    first = utcnow() - timedelta(days=300)
    for number in range(count):
        action = Action.STEP_RETURNED if number % 4 == 0 else Action.STEP_COMPLETED
        task = tasks[number % len(tasks)]
        record(
            action,
            people[number % len(people)],
            task,
            comment=f"Ý kiến {number}",
            data={"n": number},
            at=first + timedelta(hours=number),
        )
    db.session.commit()


def add_indicators(count: int) -> None:
    """`count` more appendix indicators, each the charge of a new unit, with two values recorded
    through the service (audited) by the leader."""
    plan = db.session.get(Plan, plan_id())
    leader = demo_user("giamdoc")
    start = db.session.scalar(select(func.max(Indicator.number)).where(Indicator.plan_id == plan.id)) or 0
    for number in range(start + 1, start + count + 1):
        unit = Unit(code=f"TD{number}", name=f"Đơn vị theo dõi {number}", kind="division", external_roles=[])
        indicator = Indicator(
            plan=plan,
            horizon=2030,
            number=number,
            position=number,
            name=f"Chỉ tiêu {number}",
            unit_of_measure="%",
            target=f"> {number}",
            responsible_unit=unit,
        )
        db.session.add_all([unit, indicator])
        db.session.commit()
        for year, value in (("2025", number / 2), ("2026", number)):
            record_value(indicator, leader, year, str(value), "Theo báo cáo", None)


def notify(username: str, count: int) -> None:
    """`count` reminders and escalations about the user's open steps (as workflows/reminders.py writes
    them), every third one read."""
    person = demo_user(username)
    items = list(db.session.scalars(select(WorkItem).order_by(WorkItem.id)))
    now = utcnow()
    for number in range(count):
        item = items[number % len(items)]
        kind = NotificationKind.ALL[number % len(NotificationKind.ALL)]
        db.session.add(
            Notification(
                user_id=person.id,
                kind=kind,
                work_item_id=item.id if number % 5 else None,
                task_id=item.task_id,
                title=f"Nhắc việc {number}: {item.name}",
                body="Hạn: sắp tới",
                created_at=now - timedelta(hours=number),
                read_at=now if number % 3 == 0 else None,
            )
        )
    db.session.commit()


def new_accounts(count: int, role: str = Role.SPECIALIST) -> list[User]:
    """`count` accounts made by the admin through app.services.user_admin (audited), each in a new unit
    made through app.services.unit_admin, in turn with one role or two."""
    admin = demo_user("admin")
    start = db.session.scalar(select(func.count(User.id)))
    made = []
    for number in range(start + 1, start + count + 1):
        changes = UnitChanges(
            name=f"Phòng thử {number}", short_name=None, aliases=[], parent_code="SKHCN_HD", kind="division"
        )
        unit = create_unit(admin, f"PT{number}", changes)
        roles = [role] if number % 2 else [role, Role.UNIT_HEAD]
        user, _ = create_user(
            admin,
            username=f"nguoi{number}",
            full_name=f"Người dùng {number}",
            email=None,
            unit_code=unit.code,
            roles=roles,
            password=None,
        )
        made.append(user)
    db.session.commit()
    return made


def deploy_versions(count: int, drafts_by: list[User]) -> None:
    """`count` more versions of draft_plan (deployed, each with a task started on it), and one draft of a
    next version saved by each of `drafts_by`."""
    for _ in range(count):
        latest = db.session.scalar(
            select(func.max(ProcessDefinition.version)).where(ProcessDefinition.key == "draft_plan")
        )
        xml = SHIPPED_XML.replace('name="Soạn thảo, xin ý kiến', f'name="Phiên bản {latest + 1}: soạn thảo')
        assert deploy(xml, dict(SHIPPED_FORMS), "draft_plan.bpmn", demo_user("admin"), PERMISSIONS).created
        db.session.commit()
        free = db.session.scalars(
            select(Task).where(Task.task_type == "draft_plan", Task.state == TaskState.NOT_STARTED)
        ).first()
        start_process(free, demo_user("admin"))
    for person in drafts_by:
        db.session.expire(person)  # as after a commit: save_draft reads the account again
        save_draft(person, with_legal_review(), None, based_on_version=1, opened_key="draft_plan")


def new_communes(count: int, with_plans: bool = True) -> None:
    """`count` communes made through the unit and user administration, each with its office and the
    office's specialist, who starts the commune's plan from the framework (its process starts)."""
    admin, framework = demo_user("admin"), db.session.scalars(select(PlanFramework)).one()
    start = db.session.scalar(select(func.count(Unit.id)))
    for number in range(start + 1, start + count + 1):
        commune = create_unit(
            admin, f"XA{number}", UnitChanges(f"Xã thử {number}", None, [], None, "commune")
        )
        office = create_unit(
            admin,
            f"XA{number}_VP",
            UnitChanges("Văn phòng HĐND-UBND", None, [], commune.code, "commune_office"),
        )
        specialist, _ = create_user(
            admin,
            username=f"xa{number}.cv",
            full_name=f"Chuyên viên xã {number}",
            email=None,
            unit_code=office.code,
            roles=[Role.SPECIALIST],
            password=None,
        )
        db.session.commit()
        if with_plans:
            create_commune_plan(framework, specialist)


def submit_commune_plan(client, api_token, commune: str) -> None:
    """The commune's plan written in full, drafted and approved by its chairman (sent to the department),
    through the API as tests/test_commune_plans.py does it."""
    from tests.test_commune_plans import Api, _submit

    _submit(Api(client, api_token), commune)
