"""Back up the database to a file and restore it from one, while the server runs.

SQLite: the online backup API (`sqlite3.Connection.backup`) copies a consistent snapshot page by page
without stopping writers; the copy is turned into a single self-contained file (no WAL). Restoring
uses the same API the other way, so the live database is replaced under SQLite's own locks.

PostgreSQL: `pg_dump --format=custom` and `pg_restore --clean --if-exists --no-owner` in one
transaction, from the binaries of the server's major version (/usr/lib/postgresql/N/bin, or PG_BINDIR).
The URL's credentials go to them through the environment (PGPASSWORD, ...), never the command line.

A backup is written next to its target and renamed at the end: a failed backup leaves no half file.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import text
from sqlalchemy.engine import URL

from app.extensions import db

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CUSTOM_MAGIC = b"PGDMP"
PG_BIN_ROOT = Path("/usr/lib/postgresql")
SQLITE_BUSY_TIMEOUT_MS = 30_000
TOOL_TIMEOUT_SECONDS = 3600


class BackupError(Exception):
    """A backup or restore that could not be done; the message says why, for the operator."""


@dataclass(frozen=True)
class Outcome:
    path: Path
    size: int
    backend: str

    def line(self, verb: str) -> str:
        return f"{verb} {self.path} ({self.backend}, {self.size:,} bytes)"


def backup_database(target: Path) -> Outcome:
    """Write a backup of the app's database to `target` (replacing it if it exists)."""
    target = Path(target)
    if target.is_dir():
        raise BackupError(f"{target} is a directory; give a file name")
    if not target.parent.is_dir():
        raise BackupError(f"directory {target.parent} does not exist")
    url = db.engine.url
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        backend = _backend(url)
        if backend == "sqlite":
            _sqlite_backup(_sqlite_path(url, must_exist=True), partial)
        else:
            _pg_dump(url, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return Outcome(target, target.stat().st_size, backend)


def restore_database(source: Path) -> Outcome:
    """Replace the app's database with the backup in `source` (made by `backup_database`)."""
    source = Path(source)
    if not source.exists():
        raise BackupError(f"{source} does not exist")
    if not source.is_file():
        raise BackupError(f"{source} is not a file")
    url = db.engine.url
    backend = _backend(url)
    if backend == "sqlite":
        _check_sqlite_backup(source)
        target = _sqlite_path(url, must_exist=False)
        if target.exists() and target.resolve() == source.resolve():
            raise BackupError(f"{source} is the live database itself")
        _close_pool()
        _sqlite_restore(source, target)
    else:
        _check_pg_backup(source)
        _pg_restore(url, source)
    return Outcome(source, source.stat().st_size, backend)


def _backend(url: URL) -> str:
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"backups support SQLite and PostgreSQL databases, not {backend}")
    return backend


def _close_pool() -> None:
    """Let go of the app's own connections before the database is replaced under them."""
    db.session.remove()
    db.engine.dispose()


# --- SQLite ------------------------------------------------------------------------------------------


def _sqlite_path(url: URL, must_exist: bool) -> Path:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        raise BackupError("the database is in memory: there is no file to back up or restore")
    path = Path(database)
    if must_exist and not path.is_file():
        raise BackupError(f"the database file {path} does not exist")
    return path


def _connect_read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)


def _sqlite_backup(database: Path, partial: Path) -> None:
    source = sqlite3.connect(database, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    try:
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy)  # all pages in one step: one consistent snapshot
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
            (result,) = copy.execute("PRAGMA quick_check").fetchone()
        finally:
            copy.close()
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite backup failed: {exc}") from None
    finally:
        source.close()
    if result != "ok":
        raise BackupError(f"the copy failed its integrity check: {result}")


def _check_sqlite_backup(source: Path) -> None:
    with source.open("rb") as file:
        if file.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
            raise BackupError(f"{source} is not a SQLite database (this server's database is SQLite)")
    try:
        connection = _connect_read_only(source)
        try:
            (result,) = connection.execute("PRAGMA quick_check").fetchone()
            rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            tables = {row[0] for row in rows}
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise BackupError(f"{source} cannot be read as a SQLite database: {exc}") from None
    if result != "ok":
        raise BackupError(f"{source} is damaged (integrity check: {result})")
    if not tables & set(db.metadata.tables):
        raise BackupError(f"{source} is a SQLite database but not one of Tiến độ (none of its tables)")


def _sqlite_restore(source: Path, target: Path) -> None:
    try:
        backup = _connect_read_only(source)
        try:
            live = sqlite3.connect(target, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
            try:
                backup.backup(live)
            finally:
                live.close()
        finally:
            backup.close()
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite restore failed (the database is unchanged): {exc}") from None


# --- PostgreSQL --------------------------------------------------------------------------------------


def _pg_environment(url: URL) -> dict[str, str]:
    """libpq's variables for the URL: the password never appears on a command line."""
    environment = dict(os.environ)
    query = {key: value if isinstance(value, str) else value[-1] for key, value in url.query.items()}
    values = {
        "PGHOST": url.host or query.get("host"),
        "PGPORT": str(url.port) if url.port else query.get("port"),
        "PGUSER": url.username or query.get("user"),
        "PGPASSWORD": url.password or query.get("password"),
        "PGDATABASE": url.database,
        "PGSSLMODE": query.get("sslmode"),
        "PGCONNECT_TIMEOUT": query.get("connect_timeout") or "10",
    }
    environment.update({key: str(value) for key, value in values.items() if value})
    return environment


def _pg_server_major(url: URL) -> int:
    try:
        with db.engine.connect() as connection:
            number = connection.execute(text("SHOW server_version_num")).scalar_one()
    except Exception as exc:
        raise BackupError(f"cannot reach the PostgreSQL server: {type(exc).__name__}") from None
    return int(number) // 10000


def _pg_tool(name: str, major: int) -> Path:
    """`name` (pg_dump, pg_restore) of the server's major version."""
    override = os.environ.get("PG_BINDIR")
    directory = Path(override) if override else PG_BIN_ROOT / str(major) / "bin"
    tool = directory / name
    if tool.is_file() and os.access(tool, os.X_OK):
        return tool
    found = sorted(path.parent.parent.name for path in PG_BIN_ROOT.glob(f"*/bin/{name}"))
    hint = f" (found for version(s) {', '.join(found)})" if found else ""
    raise BackupError(
        f"{name} for PostgreSQL {major} not found in {directory}{hint}: "
        f"install postgresql-client-{major} or set PG_BINDIR"
    )


def _run(command: list[str], url: URL, what: str) -> None:
    try:
        completed = subprocess.run(
            command,
            env=_pg_environment(url),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TOOL_TIMEOUT_SECONDS,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BackupError(f"{what} failed: {exc}") from None
    if completed.returncode != 0:
        message = completed.stderr.strip() or f"exit status {completed.returncode}"
        raise BackupError(f"{what} failed: {message}")


def _pg_dump(url: URL, partial: Path) -> None:
    tool = _pg_tool("pg_dump", _pg_server_major(url))
    _run([str(tool), "--format=custom", "--no-password", f"--file={partial}"], url, "pg_dump")


def _check_pg_backup(source: Path) -> None:
    with source.open("rb") as file:
        if file.read(len(PG_CUSTOM_MAGIC)) != PG_CUSTOM_MAGIC:
            raise BackupError(
                f"{source} is not a pg_dump custom-format archive (this server's database is PostgreSQL)"
            )


def _pg_restore(url: URL, source: Path) -> None:
    tool = _pg_tool("pg_restore", _pg_server_major(url))
    _close_pool()
    command = [
        str(tool),
        "--clean",
        "--if-exists",
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
        "--no-password",
        f"--dbname={url.database}",
        str(source),
    ]
    _run(command, url, "pg_restore (the database is unchanged)")
