"""Checking the audit trail's hash chain (see workflows/audit.py): `verify()` walks every row in id order,
in keyset batches (constant memory, fast at a million rows), and reports the first row that was altered
(its hash does not match its content) or whose predecessor was removed, inserted, changed or moved (its
`prev_hash` is not the hash of the row before it).

What a chain cannot show by itself: rows cut off at the end, or rows appended by someone who computes
the hashes. `head` (the last row's hash) is what to note down elsewhere to catch those.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from workflows.audit import GENESIS, HASHED_FIELDS, content_hash

BATCH_SIZE = 2000
ALTERED = "its content does not match its hash (the row was altered)"
UNLINKED = (
    "its prev_hash is not the hash of the row before it "
    "(a row before it was removed, inserted, altered or moved)"
)


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    checked: int  # rows checked, the bad one included
    first_bad: int | None  # the id of the first bad row
    reason: str | None
    head: str  # the hash of the last good row (GENESIS for an empty trail)


def verify(batch_size: int = BATCH_SIZE) -> VerifyReport:
    """Walk the chain from the first row; stop at the first bad one."""
    table = AuditEvent.__table__
    columns = [table.c.id, table.c.hash, *(table.c[name] for name in HASHED_FIELDS)]
    previous, checked, after = GENESIS, 0, None
    while True:
        query = select(*columns).order_by(table.c.id).limit(batch_size)
        if after is not None:
            query = query.where(table.c.id > after)
        rows = db.session.execute(query).mappings().all()
        if not rows:
            return VerifyReport(True, checked, None, None, previous)
        for row in rows:
            checked += 1
            if row["prev_hash"] != previous:
                return VerifyReport(False, checked, row["id"], UNLINKED, previous)
            if content_hash(row) != row["hash"]:
                return VerifyReport(False, checked, row["id"], ALTERED, previous)
            previous = row["hash"]
        after = rows[-1]["id"]
