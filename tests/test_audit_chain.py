"""The audit trail's hash chain: every row is chained to the one before it, and `verify()`, `flask audit
verify` and GET /api/v1/audit/verify find the first row that was altered, removed, inserted or moved.

Tampering is done the way an intruder with database access would: raw SQL. On PostgreSQL the trigger
refusing UPDATE and DELETE is switched off first (the table's owner can), which is also tested.
"""

from __future__ import annotations

import threading
import unicodedata
from datetime import UTC, datetime

import pytest
from flask_migrate import upgrade
from sqlalchemy import JSON, DateTime, String, column, create_engine, func, select, table, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from app.extensions import db
from app.models import AuditEvent
from app.services.clock import LOCAL_TZ
from tests.conftest import ON_POSTGRES, make_app, only_sqlite
from tests.test_engine import act, task, to_consolidate, user
from workflows import audit
from workflows.audit import GENESIS, HASHED_FIELDS, Action, canonical, content_hash, record, row_values
from workflows.audit_verify import ALTERED, UNLINKED, verify

only_postgres = pytest.mark.skipif(not ON_POSTGRES, reason="the trigger exists on PostgreSQL only")
ISSUED = {"issued_number": "123/KH-UBND", "issued_date": "2025-04-01", "result": "Kế hoạch đã ban hành"}


def run_1a() -> None:
    """Task 1.a from start to completed, with a return by the leader."""
    t1a = task("1.a")
    to_consolidate(t1a)
    act(t1a, "consolidate")
    act(t1a, "leader_approval", {"decision": "return"}, comment="Bổ sung giải trình")
    act(t1a, "consolidate", {"accepted": "Đã bổ sung", "explanation": "Giải trình"})
    act(t1a, "leader_approval", {"decision": "approve"})
    act(t1a, "submit_to_committee")
    act(t1a, "record_issuance", ISSUED)


def ids() -> list[int]:
    return list(db.session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)))


def tamper(statement, **params) -> None:
    """SQL (text or Core, never the app's code) against audit_events, past the PostgreSQL trigger (as the
    table's owner could)."""
    db.session.rollback()
    if ON_POSTGRES:
        db.session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
    db.session.execute(text(statement) if isinstance(statement, str) else statement, params)
    if ON_POSTGRES:
        db.session.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))
    db.session.commit()


TABLE = AuditEvent.__table__


def columns_of(row_id: int) -> dict:
    """Every column of the row but its id, as stored."""
    row = db.session.execute(select(TABLE).where(TABLE.c.id == row_id)).mappings().one()
    return {name: value for name, value in row.items() if name != "id"}


def forged(**values):
    """An INSERT of a row the app did not write."""
    return TABLE.insert().values(at=datetime.now(UTC), action=Action.STEP_COMPLETED, **values)


@pytest.fixture
def ran(app) -> list[int]:
    run_1a()
    return ids()


# --- the chain as written ------------------------------------------------------------------------


def test_the_hashed_fields_are_every_column_but_id_and_hash():
    columns = {c.name for c in AuditEvent.__table__.columns}
    assert set(HASHED_FIELDS) == columns - {"id", "hash"}
    assert len(HASHED_FIELDS) == len(set(HASHED_FIELDS))


def test_a_whole_run_of_1a_verifies_and_every_row_links_to_the_one_before(ran):
    report = verify()
    assert (report.ok, report.checked, report.first_bad, report.reason) == (True, len(ran), None, None)
    rows = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert rows[0].prev_hash == GENESIS
    for before, row in zip(rows, rows[1:], strict=False):
        assert row.prev_hash == before.hash
        assert row.hash == content_hash(row_values(row))
    assert report.head == rows[-1].hash
    t1a_actions = [r.action for r in rows if r.task_id == task("1.a").id]
    assert t1a_actions[0] == Action.PROCESS_STARTED and t1a_actions[-1] == Action.PROCESS_COMPLETED


def test_an_empty_trail_verifies(empty_app):
    assert verify() == verify().__class__(True, 0, None, None, GENESIS)


def test_small_batches_give_the_same_answer(ran):
    assert verify(batch_size=3) == verify()
    victim = ran[7]
    tamper("UPDATE audit_events SET comment = 'x' WHERE id = :id", id=victim)
    assert verify(batch_size=2).first_bad == verify().first_bad == victim


def test_rows_recorded_in_one_transaction_chain_to_each_other(app):
    head = verify().head
    actor, t1a = user("cntt.cv"), task("1.a")
    first = record(Action.STEP_CLAIMED, actor, t1a)
    second = record(Action.STEP_RELEASED, actor, t1a)
    assert second.id > first.id  # written at once, in the order of the chain
    assert (first.prev_hash, second.prev_hash) == (head, first.hash)
    db.session.commit()
    assert verify().ok


def test_a_rolled_back_row_leaves_no_gap_in_the_chain(app):
    record(Action.STEP_CLAIMED, user("cntt.cv"), task("1.a"), comment="bỏ")
    db.session.rollback()
    record(Action.STEP_CLAIMED, user("cntt.cv"), task("1.a"), comment="giữ")
    db.session.commit()
    assert verify().ok


def test_the_canonical_form_is_nfc_json_with_utc_times():
    values = {name: None for name in HASHED_FIELDS}
    nfd = unicodedata.normalize("NFD", "Bổ sung giải trình")
    naive = dict(values, at=datetime(2025, 3, 1, 1, 2, 3, 4), comment=nfd, data={"b": nfd, "a": 1})
    local = datetime(2025, 3, 1, 8, 2, 3, 4, tzinfo=LOCAL_TZ)  # the same moment in Asia/Ho_Chi_Minh
    aware = dict(values, at=local, comment="Bổ sung giải trình", data={"a": 1, "b": "Bổ sung giải trình"})
    assert canonical(naive) == canonical(aware)
    text_form = canonical(aware).decode("utf-8")
    assert '"at":"2025-03-01T01:02:03.000004+00:00"' in text_form
    assert "Bổ sung giải trình" in text_form  # not \\u escapes
    assert text_form.index('"a":1') < text_form.index('"b":')
    assert content_hash(aware) != content_hash(dict(aware, comment="Bổ sung giải trình."))
    assert content_hash(aware) != content_hash(dict(aware, prev_hash="1" * 64))


def test_data_is_hashed_as_the_database_gives_it_back(app):
    record(Action.STEP_CLAIMED, user("cntt.cv"), None, data={3: ("a", "b"), "n": 1.5, "ok": True})
    db.session.commit()
    db.session.expire_all()
    assert verify().ok


# --- tampering -----------------------------------------------------------------------------------


def test_an_altered_comment_names_that_row(ran):
    victim = next(
        row_id for row_id in ran if db.session.get(AuditEvent, row_id).comment == "Bổ sung giải trình"
    )
    tamper("UPDATE audit_events SET comment = 'Đồng ý' WHERE id = :id", id=victim)
    report = verify()
    assert (report.ok, report.first_bad, report.reason) == (False, victim, ALTERED)
    assert report.checked == ran.index(victim) + 1


def test_an_altered_row_whose_hash_was_recomputed_names_the_next_row(ran):
    victim = ran[5]
    values = columns_of(victim) | {"comment": "đã sửa"}
    tamper(TABLE.update().where(TABLE.c.id == victim).values(comment="đã sửa", hash=content_hash(values)))
    assert content_hash(columns_of(victim)) == columns_of(victim)["hash"]
    assert (verify().first_bad, verify().reason) == (ran[6], UNLINKED)


def test_a_deleted_row_names_the_row_after_it(ran):
    tamper("DELETE FROM audit_events WHERE id = :id", id=ran[4])
    report = verify()
    assert (report.ok, report.first_bad, report.reason) == (False, ran[5], UNLINKED)


def test_deleting_the_first_row_is_found(ran):
    tamper("DELETE FROM audit_events WHERE id = :id", id=ran[0])
    assert verify().first_bad == ran[1]


def test_two_rows_with_swapped_contents_are_found(ran):
    first, second = ran[3], ran[8]
    a, b = columns_of(first), columns_of(second)
    placeholder = {"hash": "a" * 64, "prev_hash": "b" * 64}  # hashes are unique: swap through a placeholder
    for row_id, values in ((first, b | placeholder), (second, a), (first, b)):
        tamper(TABLE.update().where(TABLE.c.id == row_id).values(**values))
    assert (columns_of(first), columns_of(second)) == (b, a)
    report = verify()
    assert (report.ok, report.first_bad, report.reason) == (False, first, UNLINKED)


def test_a_forged_row_at_the_end_is_found(ran):
    at = datetime.now(UTC)
    content = {name: None for name in HASHED_FIELDS} | {
        "at": at,
        "action": Action.STEP_COMPLETED,
        "actor_username": "giamdoc",
        "comment": "Đã duyệt",
        "prev_hash": "f" * 64,  # a forger who does not know the head
    }
    tamper(
        forged(actor_username="giamdoc", comment="Đã duyệt", prev_hash="f" * 64, hash=content_hash(content))
    )
    assert (verify().first_bad, verify().reason) == (max(ids()), UNLINKED)


def test_a_forged_row_with_a_made_up_hash_is_found(ran):
    tamper(forged(comment="Đã duyệt", prev_hash=verify().head, hash="e" * 64))
    assert (verify().first_bad, verify().reason) == (max(ids()), ALTERED)


def test_a_second_row_after_the_same_predecessor_is_refused_by_the_database(ran):
    """The chain cannot fork: prev_hash is unique."""
    reused = columns_of(ran[2])["prev_hash"]
    with pytest.raises(IntegrityError):
        tamper(forged(prev_hash=reused, hash="d" * 64))
    db.session.rollback()
    assert verify().ok


# --- CLI and API ---------------------------------------------------------------------------------


def test_cli_says_ok_then_names_the_altered_row(ran, runner):
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == f"ok: {len(ran)} rows checked"
    tamper("UPDATE audit_events SET to_state = 'completed' WHERE id = :id", id=ran[2])
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert result.output.strip() == f"NOT ok: row #{ran[2]}: {ALTERED}"


def test_api_verify_for_supervisors_only(ran, client, api_token):
    url = "/api/v1/audit/verify"
    refused = client.get(url, headers={"Authorization": f"Bearer {api_token('cntt.cv')}"})
    assert refused.status_code == 403
    headers = {"Authorization": f"Bearer {api_token('giamsat')}"}
    body = client.get(url, headers=headers).get_json()
    checked = db.session.scalar(select(func.count(AuditEvent.id)))  # the tokens' rows are audited too
    assert body == {"ok": True, "checked": checked, "first_bad": None, "reason": None}
    tamper("DELETE FROM audit_events WHERE id = :id", id=ran[3])
    response = client.get(url, headers=headers)
    assert response.status_code == 200
    assert response.get_json() == {"ok": False, "checked": 4, "first_bad": ran[4], "reason": UNLINKED}


# --- concurrency ---------------------------------------------------------------------------------


def test_writers_in_parallel_keep_one_chain(app):
    """Several sessions recording at once (each its own connection and transaction) make one chain."""
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            with app.app_context():
                actor = user("vp.cv")
                for i in range(8):
                    record(Action.STEP_CLAIMED, actor, None, comment=f"luồng {number} lần {i}")
                    db.session.commit()
                db.session.remove()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    before = len(ids())
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = verify()
    assert report.ok and report.checked == before + 32


@only_sqlite
def test_on_sqlite_record_takes_the_writer_lock_even_before_anything_was_written(app):
    """A sign-in writes nothing before its audit row: record() must hold the writer lock from the moment
    it reads the last hash, or another writer could commit a row in between (a fork)."""
    record(Action.SIGNED_IN, user("cntt.cv"), None, data={"ip": "127.0.0.1"})
    assert_another_writer_is_locked_out()
    db.session.commit()
    assert verify().ok


@only_sqlite
def test_on_sqlite_the_lock_is_held_from_the_callers_first_write(app):
    t1a = task("1.a")
    t1a.progress = 5  # pending, as in a service that changes a row and then records
    record(Action.TASK_UPDATED, user("cntt.tp"), t1a)
    assert_another_writer_is_locked_out()
    db.session.commit()
    assert verify().ok


def assert_another_writer_is_locked_out() -> None:
    other = create_engine(db.engine.url)
    try:
        with other.connect() as connection:
            connection.exec_driver_sql("PRAGMA busy_timeout=0")
            with pytest.raises(OperationalError, match="locked"):
                connection.exec_driver_sql("BEGIN IMMEDIATE")
    finally:
        other.dispose()


# --- PostgreSQL: the database refuses UPDATE and DELETE -------------------------------------------


@only_postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_events SET comment = 'đã sửa' WHERE id = (SELECT min(id) FROM audit_events)",
        "DELETE FROM audit_events WHERE id = (SELECT max(id) FROM audit_events)",
        "TRUNCATE audit_events",
    ],
)
def test_postgresql_refuses_update_delete_and_truncate(app, sql):
    run_1a()
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text(sql))
    db.session.rollback()
    assert verify().ok


@only_postgres
def test_the_migration_creates_the_trigger(fresh_database_url):
    application = make_app(fresh_database_url)
    with application.app_context():
        upgrade()
        triggers = db.session.scalars(
            text(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_events'::regclass AND NOT tgisinternal"
            )
        ).all()
        assert set(triggers) == {"audit_events_no_update_delete", "audit_events_no_truncate"}
        db.session.remove()
        db.engine.dispose()


# --- upgrading a database that already has audit rows ---------------------------------------------


def test_the_migration_chains_the_rows_already_present(fresh_database_url):
    """Rows written before the chain existed get their hashes in id order, so the upgraded trail verifies."""
    application = make_app(fresh_database_url)
    with application.app_context():
        upgrade(revision="f9a0b1c2d3e4")
        old_table = table(  # audit_events as it was before the chain
            "audit_events",
            column("at", DateTime(timezone=True)),
            column("action", String),
            column("comment", String),
            column("data", JSON),
        )
        for number, comment in enumerate(["Bổ sung giải trình", None, "Đồng ý"]):
            values = {
                "at": datetime(2025, 3, 1, 1, number, 5, 123456, tzinfo=UTC),
                "action": Action.STEP_COMPLETED,
                "comment": comment,
                "data": {"decision": "approve", "ghi_chú": "có"} if number else None,
            }
            db.session.execute(old_table.insert().values(**values))
        db.session.commit()
        upgrade(revision="a1b2c3d4e5f6")
        report = verify()
        assert (report.ok, report.checked) == (True, 3)
        record(Action.SIGNED_IN, None, None, data={"ip": "127.0.0.1"})
        db.session.commit()
        assert verify().ok and verify().checked == 4
        db.session.remove()
        db.engine.dispose()


def test_the_module_is_the_only_writer():
    """Nothing in the app updates or deletes audit rows (the SQLite side of the trigger)."""
    from pathlib import Path

    root = Path(audit.__file__).resolve().parent.parent
    offenders = []
    for path in [*root.glob("app/**/*.py"), *root.glob("workflows/**/*.py")]:
        source = path.read_text(encoding="utf-8")
        for needle in (
            "update(AuditEvent",
            "delete(AuditEvent",
            "UPDATE audit_events",
            "DELETE FROM audit_e",
        ):
            if needle in source:
                offenders.append(f"{path.relative_to(root)}: {needle}")
    assert offenders == []
