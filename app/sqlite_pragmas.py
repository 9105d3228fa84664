"""SQLite settings for a multi-user server: WAL (readers never block the writer), a busy timeout instead
of immediate "database is locked" errors, enforced foreign keys, and planner statistics kept current.

Statistics: without them (no ANALYZE ever ran) SQLite guesses how selective each index is, and can walk
every open work item through the `status` index where the `instance_id` one finds five. As SQLite
recommends for long-lived connections, `PRAGMA optimize` runs on each pooled connection now and then:
when it goes back to the pool or is closed, a minute after it was opened and then at most once an
hour. It ANALYZEs only the tables that connection's queries used whose statistics are missing or far
off (about ten times more or fewer rows), and is a no-op (microseconds) otherwise. The ANALYZE reads
every row (`analysis_limit=0`): a sample, as SQLite suggests, sees one value of a column with few values
(work_items.status) and records hundreds of rows per value where there are hundreds of thousands, and
the planner then walks the wrong index (measured at the full benchmark size: 45 ms instead of 1 for a
plan's open steps). A full ANALYZE takes a few seconds at 100,000 tasks, rarely (each table at each
tenfold growth). It never waits for a writer: when another connection holds the write lock it is
skipped until next time. Migrations d8e9f0a1b2c3 and b7c8d9e0f1a2 run ANALYZE, so an upgraded database
has statistics from its first request. (A short-lived connection, such as a CLI command's or a
test's, closes before its first minute and does nothing.)
"""

from __future__ import annotations

import sqlite3
import time

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

BUSY_TIMEOUT_MS = 10000
ANALYSIS_LIMIT = 0  # ANALYZE reads every row (see above: a sample misjudges columns with few values)
OPTIMIZE_FIRST_AFTER_SECONDS = 60.0  # a new connection's first `PRAGMA optimize`
OPTIMIZE_EVERY_SECONDS = 3600.0  # and the later ones

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA analysis_limit={ANALYSIS_LIMIT}",
)

# In the pool's record of a connection: when it was opened or last optimized (time.monotonic()), and
# whether it has been optimized yet.
_OPTIMIZED_AT = "sqlite_optimized_at"
_OPTIMIZED = "sqlite_optimized"


def _is_sqlite(dbapi_connection) -> bool:
    return type(dbapi_connection).__module__.startswith("sqlite3")


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection, connection_record) -> None:
    if not _is_sqlite(dbapi_connection):
        return
    cursor = dbapi_connection.cursor()
    try:
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()
    connection_record.info[_OPTIMIZED_AT] = time.monotonic()


def optimize(dbapi_connection) -> bool:
    """`PRAGMA optimize` on a SQLite connection outside a transaction; False if another connection was
    writing (it is not waited for) or the database could not be written."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA busy_timeout=0")
        try:
            cursor.execute("PRAGMA optimize")
            return True
        except sqlite3.OperationalError:  # locked by a writer, read-only file
            return False
        finally:
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def _optimize_if_due(dbapi_connection, connection_record) -> None:
    if dbapi_connection is None or not _is_sqlite(dbapi_connection):
        return
    info, now = connection_record.info, time.monotonic()
    wait = OPTIMIZE_EVERY_SECONDS if info.get(_OPTIMIZED) else OPTIMIZE_FIRST_AFTER_SECONDS
    if now - info.get(_OPTIMIZED_AT, now) < wait:
        return
    info[_OPTIMIZED_AT], info[_OPTIMIZED] = now, True
    try:
        optimize(dbapi_connection)
    except sqlite3.Error:  # a broken connection, on its way out
        pass


# After the pool's reset: the connection's transaction has ended.
event.listen(Pool, "checkin", _optimize_if_due)
event.listen(Pool, "close", _optimize_if_due)
