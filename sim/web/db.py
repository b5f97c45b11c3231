"""The classroom database: one SQLite file, its schema, and the steps that build it.

The schema is a list of named migrations. Each is applied once, in order, inside a
transaction, and recorded in ``schema_migrations``; a later feature adds its own tables by
adding migrations of its own (``sim.web.app.AREAS`` collects them), never by editing one
that has shipped. A database written by an older version is brought up to date on start.

Connections are opened per request (cheap for SQLite) in WAL mode, so the run's worker
process can write progress while the server reads.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

BUSY_TIMEOUT_MS = 10_000
T = TypeVar("T")


class Migration(NamedTuple):
    """One schema step: a unique name (``area-N``) and the SQL that makes it."""

    name: str
    sql: str


CORE: tuple[Migration, ...] = (
    Migration("core-1", """
        CREATE TABLE settings (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            code TEXT NOT NULL UNIQUE,
            title TEXT NOT NULL,
            scenario_name TEXT NOT NULL,
            scenario_text TEXT NOT NULL,
            outcomes TEXT NOT NULL,          -- JSON list of outcome ids students forecast
            levers TEXT NOT NULL,            -- JSON list of lever ids students may recommend
            runs INTEGER NOT NULL,
            seed INTEGER NOT NULL,
            state TEXT NOT NULL DEFAULT 'open',   -- open, locked, revealed
            hide_names INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL,
            locked_at REAL,
            revealed_at REAL
        );
        CREATE TABLE students (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            name_key TEXT NOT NULL,          -- casefolded name: unique within a session
            token TEXT NOT NULL UNIQUE,
            joined_at REAL NOT NULL,
            UNIQUE (session_id, name_key)
        );
        CREATE TABLE forecasts (
            student_id INTEGER PRIMARY KEY REFERENCES students(id) ON DELETE CASCADE,
            probabilities TEXT NOT NULL,     -- JSON {outcome id: probability}
            setting TEXT NOT NULL,           -- JSON {lever id: value}, changes from the base
            reasoning TEXT NOT NULL DEFAULT '',
            updated_at REAL NOT NULL
        );
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            state TEXT NOT NULL,             -- queued, running, done, failed, interrupted
            done INTEGER NOT NULL DEFAULT 0,
            total INTEGER NOT NULL,
            message TEXT NOT NULL DEFAULT '',
            result TEXT,                     -- JSON, see sim.web.jobs
            created_at REAL NOT NULL,
            finished_at REAL
        );
        CREATE INDEX runs_by_session ON runs (session_id, id);
        CREATE TABLE run_plots (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            png BLOB NOT NULL,
            PRIMARY KEY (run_id, name)
        );
        CREATE TABLE scores (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            student_id INTEGER NOT NULL REFERENCES students(id) ON DELETE CASCADE,
            brier REAL NOT NULL,
            rank INTEGER NOT NULL,
            PRIMARY KEY (run_id, student_id)
        );
    """),
)


def connect(path: str | Path) -> sqlite3.Connection:
    """A connection with rows by name, foreign keys on, WAL and a generous busy wait."""
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000,
                           isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    # With WAL, NORMAL syncs at checkpoints rather than at every commit: still never
    # corrupt, and a power cut loses at most the last moments, not the database.
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


# Writers of this process queue on a lock instead of in SQLite's busy handler, which
# sleeps in growing steps (up to 100 ms) and gave a class of 40 joining at once
# multi-second tails. Readers never wait (WAL).
_WRITING = threading.Lock()


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error), one writer of this process at a
    time."""
    with _WRITING:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


def write(conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
    """One writing statement in a transaction of its own."""
    with transaction(conn):
        return conn.execute(sql, params)


def one(conn: sqlite3.Connection, sql: str, params: Sequence[Any],
        make: Callable[[sqlite3.Row], T]) -> T | None:
    """The first row a query finds, made into its typed row by ``make``; None if none."""
    row = conn.execute(sql, params).fetchone()
    return None if row is None else make(row)


def inserted(conn: sqlite3.Connection, cur: sqlite3.Cursor,
             by_id: Callable[[sqlite3.Connection, int], T | None]) -> T:
    """The typed row that the INSERT of ``cur`` just made, read back by its new id."""
    found = by_id(conn, int(cur.lastrowid or 0))
    assert found is not None  # this connection inserted it a moment ago
    return found


def migrate(path: str | Path, migrations: Iterable[Migration]) -> list[str]:
    """Create or update the database at ``path``; returns the names of the steps applied."""
    steps = list(migrations)
    names = [m.name for m in steps]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate migration names in {names}")
    conn = connect(path)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations ("
                     "name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
        done = {row["name"] for row in conn.execute("SELECT name FROM schema_migrations")}
        applied = []
        for step in steps:
            if step.name in done:
                continue
            # executescript commits first; the step and its record then commit together.
            conn.executescript(f"BEGIN;\n{step.sql}\n"
                               f"INSERT INTO schema_migrations VALUES "
                               f"('{_quote(step.name)}', {time.time()});\nCOMMIT;")
            applied.append(step.name)
        return applied
    finally:
        conn.close()


def _quote(name: str) -> str:
    return name.replace("'", "''")
