"""Counting the SQL statements one request runs, for tests that a page's statement count does not grow
with its data (no N+1 queries).

The listener is on the Engine (`before_cursor_execute`), so it sees every statement of every connection
the request's session opens: ORM loads, lazy loads, Core selects, and the writes of a request that
records something (an API token's `last_used_at`). SQLite's PRAGMAs of a new connection run on the raw
DBAPI connection and are not counted; neither are BEGIN/COMMIT, which the DBAPI issues itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask.testing import FlaskClient
from sqlalchemy import event

from app.extensions import db


@dataclass
class Statements:
    """The statements run inside a `counting_statements()` block, in order."""

    texts: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    def report(self) -> str:
        return "\n".join(f"{n:3d}. {' '.join(text.split())[:300]}" for n, text in enumerate(self.texts, 1))


@contextmanager
def counting_statements() -> Iterator[Statements]:
    """Every statement the app's engine runs inside the block (needs an app context for db.engine)."""
    statements = Statements()
    engine = db.engine

    def before_cursor_execute(conn, cursor, statement, parameters, context, executemany):
        statements.texts.append(statement)

    event.listen(engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before_cursor_execute)


@dataclass
class Measured:
    status: int
    statements: Statements

    @property
    def count(self) -> int:
        return len(self.statements)


def measure(client: FlaskClient, url: str, headers: dict[str, str] | None = None) -> Measured:
    """GET `url` once through the test client and count its statements; the response must be a 200.

    The request is made twice and the second is counted: the first may fill per-process caches
    (a definition's parsed spec, the catalogue of units) that later requests of a server find warm.
    """
    client.get(url, headers=headers)
    with counting_statements() as statements:
        response = client.get(url, headers=headers)
    assert response.status_code == 200, (url, response.status_code, response.get_data(as_text=True)[:500])
    return Measured(response.status_code, statements)


@dataclass(frozen=True)
class Page:
    """A GET to measure: `url` may be a callable, for a URL that names something the growth changes
    (a later audit page's cursor); `headers` carry an API token."""

    url: str | Callable[[], str]
    headers: dict[str, str] | None = None

    def resolve(self) -> str:
        return self.url() if callable(self.url) else self.url


def assert_constant(client: FlaskClient, pages: list[Page], grow: Callable[[], object]) -> list[int]:
    """Each page runs the same number of statements after `grow()` added rows it lists as before.

    Returns the counts, in the order of `pages`."""
    before = [measure(client, page.resolve(), page.headers) for page in pages]
    grow()
    db.session.expire_all()
    after = [measure(client, page.resolve(), page.headers) for page in pages]
    for page, old, new in zip(pages, before, after, strict=True):
        assert new.count == old.count, (
            f"{page.resolve()}: {old.count} statements before, {new.count} after adding rows\n"
            f"--- before ---\n{old.statements.report()}\n--- after ---\n{new.statements.report()}"
        )
    return [measured.count for measured in after]
