"""The worklist and its count, read branch by branch from indexes (workflows/worklist.py), list exactly
the open items a straightforward reading of the rule gives: open, and either held by the user or held
by nobody, for one of the user's roles that act (a supervisor's never does), in no unit or in the
user's unit or one of its sub-units; none
for an inactive account. Soonest due first, undated last, then by id; every page of any size continues
where the previous one stopped.

Hypothesis makes the rows (units with a sub-unit, several roles per item, held and delegated items,
closed ones, few due times so that many are equal) and each example compares every account's list,
count and pages with the rule applied in Python to every row of the table.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.extensions import db
from app.models import Role, Unit, User, UserRole, WorkItem, WorkItemStatus
from tests.worklist_rows import add_item, anchor_item, remove_items_after, unit_id, user
from workflows.worklist import decode_cursor, worklist_count, worklist_for, worklist_page

# KHTC is a sub-unit of VP; VP and KHTC come up more often, so that their people have long lists.
UNITS = [None, "CNTT", "VP", "KHTC", "TTCNTT", "HTS", "LDS", "VP", "KHTC", "VP", "KHTC"]
# (username, unit, roles, active): besides the demo accounts, people the demo lacks.
EXTRA_PEOPLE = [
    ("nhieu.vaitro", "VP", (Role.SPECIALIST, Role.UNIT_HEAD, Role.LEADER), True),
    ("nghi.viec", "CNTT", (Role.SPECIALIST,), False),
    ("khong.vaitro", "CNTT", (), True),
]
PEOPLE = [
    "cntt.cv", "cntt.tp", "vp.cv", "vp.tp", "khtc.cv", "khtc.tp", "ttcntt.tp", "hts.cv",
    "giamdoc", "giamsat", "admin", *(person[0] for person in EXTRA_PEOPLE),
]  # fmt: skip
DUES = [datetime(2030, 1, d, 9, 0, tzinfo=UTC) for d in (1, 1, 2, 3)]

# Mostly open, unassigned steps for the roles people have, so that lists run to several pages.
ROLES = [Role.SPECIALIST, Role.UNIT_HEAD, Role.LEADER, Role.SPECIALIST, Role.SUPERVISOR, Role.ADMIN]
ROWS = st.lists(
    st.fixed_dictionaries(
        {
            "unit": st.sampled_from(UNITS),
            "roles": st.lists(st.sampled_from(ROLES), min_size=1, max_size=3, unique=True),
            "holder": st.one_of(st.none(), st.none(), st.none(), st.sampled_from(PEOPLE)),
            "delegated": st.booleans(),
            "due": st.none() | st.sampled_from(DUES),
            "status": st.sampled_from([WorkItemStatus.OPEN] * 6 + [WorkItemStatus.COMPLETED, "cancelled"]),
        }
    ),
    min_size=8,
    max_size=40,
)


def add_extra_people() -> None:
    for username, code, roles, active in EXTRA_PEOPLE:
        person = User(username=username, full_name=username, unit_id=unit_id(code), password_hash="-")
        person.active = active
        person.role_rows = [UserRole(role=role) for role in roles]
        db.session.add(person)
    db.session.commit()


def expected_for(person: User) -> list[int]:
    """The rule, in Python, over every row of the table."""
    if not person.active:
        return []
    units = db.session.scalars(select(Unit)).all()
    served = {unit.id for unit in units if person.unit_id in (unit.id, unit.parent_id)}

    def listed(item: WorkItem) -> bool:
        if item.status != WorkItemStatus.OPEN:
            return False
        if item.assignee_id is not None:
            return item.assignee_id == person.id
        in_unit = item.candidate_unit_id is None or item.candidate_unit_id in served
        return in_unit and any(role in item.roles for role in person.roles if role in Role.ACTING)

    chosen = [item for item in db.session.scalars(select(WorkItem)) if listed(item)]
    chosen.sort(key=lambda item: (item.due_at is None, as_utc(item.due_at), item.id))
    return [item.id for item in chosen]


def as_utc(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.min.replace(tzinfo=UTC)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def paged(person: User, size: int, most: int) -> list[int]:
    """Every page of `size` in turn (at most `most` of them); the last one has no cursor, and no page is
    empty but a sole one."""
    found, after, pages = [], None, 0
    while True:
        page = worklist_page(person, size, after)
        pages += 1
        assert pages <= most, f"more than {most} pages: {found}"
        assert page.items or pages == 1
        assert len(page.items) <= size
        found += [item.id for item in page.items]
        if page.next_cursor is None:
            return found
        assert len(page.items) == size
        after = decode_cursor(page.next_cursor)
        assert after.seen == len(found)


# No shrinking: every candidate re-checks fourteen people, so a failure is reported as found.
@settings(
    max_examples=40,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(rows=ROWS, size=st.integers(min_value=1, max_value=4))
def test_list_count_and_pages_match_the_rule(app, rows, size):
    if db.session.scalar(select(User.id).where(User.username == "nghi.viec")) is None:
        add_extra_people()
        anchor_item()
    first = db.session.scalars(select(WorkItem.id).order_by(WorkItem.id)).first()
    remove_items_after(first)
    people = {name: user(name) for name in PEOPLE}
    for row in rows:
        holder = people[row["holder"]] if row["holder"] else None
        add_item(
            db.session.get(WorkItem, first),
            unit=unit_id(row["unit"]) if row["unit"] else None,
            roles=row["roles"],
            assignee_id=holder.id if holder else None,
            delegated_by_id=people["cntt.tp"].id if holder and row["delegated"] else None,
            due_at=row["due"],
            status=row["status"],
        )
    db.session.commit()
    db.session.expire_all()

    pages_walked = []
    for name, person in people.items():
        expected = expected_for(person)
        assert [item.id for item in worklist_for(person)] == expected, name
        assert worklist_count(person) == len(expected), name
        assert paged(person, size, most=len(expected) // size + 1) == expected, name
        pages_walked.append(-(-len(expected) // size))
    note(f"pages per person: {pages_walked}")


def test_the_rule_on_a_few_hand_made_rows(app):
    """The cases by name: a sub-unit's item is its parent unit's too (not the other way round); a held
    (or delegated) item is only its holder's; no unit means every holder of the role; an inactive
    account sees nothing; a person without roles sees only what they hold."""
    add_extra_people()
    anchor = anchor_item()  # CNTT, specialist: cntt.cv's
    vp, khtc, cntt = unit_id("VP"), unit_id("KHTC"), unit_id("CNTT")
    of_khtc = add_item(anchor, unit=khtc, roles=[Role.SPECIALIST])
    of_vp = add_item(anchor, unit=vp, roles=[Role.UNIT_HEAD, Role.SPECIALIST])
    held = add_item(anchor, unit=cntt, roles=[Role.SPECIALIST], assignee_id=user("khong.vaitro").id)
    delegated = add_item(
        anchor,
        unit=vp,
        roles=[Role.UNIT_HEAD],
        assignee_id=user("vp.cv").id,
        delegated_by_id=user("vp.tp").id,
    )
    for_leaders = add_item(anchor, unit=None, roles=[Role.LEADER], due_at=datetime(2030, 1, 1, tzinfo=UTC))
    add_item(anchor, unit=cntt, roles=[Role.SPECIALIST], status=WorkItemStatus.COMPLETED)
    add_item(anchor, unit=cntt, roles=[Role.SPECIALIST], assignee_id=user("nghi.viec").id)
    db.session.commit()

    def ids(name: str) -> list[int]:
        return [item.id for item in worklist_for(user(name))]

    assert ids("vp.cv") == [of_khtc.id, of_vp.id, delegated.id]
    assert ids("khtc.cv") == [of_khtc.id]
    assert ids("vp.tp") == [of_vp.id]  # the delegated item is vp.cv's now
    assert ids("nhieu.vaitro") == [for_leaders.id, of_khtc.id, of_vp.id]
    assert ids("giamdoc") == [for_leaders.id]
    assert ids("cntt.cv") == [anchor.id]
    assert ids("khong.vaitro") == [held.id]
    assert ids("nghi.viec") == [] and worklist_count(user("nghi.viec")) == 0
    assert [worklist_count(user(name)) for name in ("vp.cv", "khtc.cv", "nhieu.vaitro")] == [3, 1, 3]


def test_a_sub_units_step_due_sooner_comes_first_on_every_page_size(app):
    """The unit's and its sub-unit's steps are merged by due time, however many the unit has."""
    anchor = anchor_item()
    vp, khtc = unit_id("VP"), unit_id("KHTC")
    later = [
        add_item(anchor, unit=vp, roles=[Role.SPECIALIST], due_at=datetime(2030, 2, day, tzinfo=UTC))
        for day in range(1, 6)
    ]
    sooner = add_item(anchor, unit=khtc, roles=[Role.SPECIALIST], due_at=datetime(2030, 1, 1, tzinfo=UTC))
    db.session.commit()
    expected = [sooner.id, *(item.id for item in later)]
    for size in (1, 2, 3):
        assert paged(user("vp.cv"), size, most=6) == expected, size
