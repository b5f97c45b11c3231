"""Reading and writing the classroom's rows: sessions, students, forecasts, runs, scores.

Every function takes an open connection (``sim.web.db.connect``) and returns typed rows;
no SQL lives anywhere else in the web layer. JSON columns are decoded here.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from dataclasses import dataclass
from typing import Any, NamedTuple

from .db import inserted, one, transaction, write

# Join codes avoid letters and digits that are easily confused on a projector (0/O, 1/I/L).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6

OPEN, LOCKED, REVEALED = "open", "locked", "revealed"
QUEUED, RUNNING, DONE, FAILED, INTERRUPTED = "queued", "running", "done", "failed", \
    "interrupted"
LIVE_RUN_STATES = (QUEUED, RUNNING)


@dataclass(frozen=True)
class NewSession:
    """What the lecturer chose when creating a session."""

    title: str
    scenario_name: str
    scenario_text: str
    outcomes: tuple[str, ...]
    levers: tuple[str, ...]
    runs: int
    seed: int


@dataclass(frozen=True)
class Session(NewSession):
    """A class session as stored: what the lecturer chose (one scenario, its questions),
    its join code, and where the class stands."""

    id: int
    code: str
    state: str
    hide_names: bool
    created_at: float


class Student(NamedTuple):
    """A student who joined a session (known to their browser by ``token``)."""

    id: int
    session_id: int
    name: str
    token: str
    joined_at: float


class Forecast(NamedTuple):
    """A student's latest forecast: probabilities and an optional recommended setting."""

    student_id: int
    probabilities: dict[str, float]
    setting: dict[str, float | bool | str]
    reasoning: str
    updated_at: float


class Run(NamedTuple):
    """One run of a session's models in a worker process."""

    id: int
    session_id: int
    state: str
    done: int
    total: int
    message: str
    result: dict[str, Any] | None
    created_at: float
    finished_at: float | None

    @property
    def live(self) -> bool:
        """Queued or running."""
        return self.state in LIVE_RUN_STATES


class Score(NamedTuple):
    """A student's Brier score against a run and their rank in the class."""

    student_id: int
    name: str
    brier: float
    rank: int


# -- settings --------------------------------------------------------------------------------
def setting(conn: sqlite3.Connection, key: str) -> str | None:
    """A stored server setting (None if unset)."""
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row["value"])


def setting_or_create(conn: sqlite3.Connection, key: str, make: str) -> str:
    """The stored value of ``key``, storing ``make`` first if there is none."""
    write(conn, "INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)", (key, make))
    value = setting(conn, key)
    assert value is not None
    return value


# -- sessions --------------------------------------------------------------------------------
def _session(row: sqlite3.Row) -> Session:
    return Session(row["title"], row["scenario_name"], row["scenario_text"],
                   tuple(json.loads(row["outcomes"])), tuple(json.loads(row["levers"])),
                   row["runs"], row["seed"], id=row["id"], code=row["code"],
                   state=row["state"], hide_names=bool(row["hide_names"]),
                   created_at=row["created_at"])


def create_session(conn: sqlite3.Connection, new: NewSession) -> Session:
    """Store a new open session under a fresh join code."""
    with transaction(conn):
        taken = {row["code"] for row in conn.execute("SELECT code FROM sessions")}
        code = _new_code(taken)
        cur = conn.execute(
            "INSERT INTO sessions (code, title, scenario_name, scenario_text, outcomes, levers,"
            " runs, seed, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (code, new.title, new.scenario_name, new.scenario_text,
             json.dumps(list(new.outcomes)), json.dumps(list(new.levers)), new.runs,
             new.seed, time.time()))
    return inserted(conn, cur, session_by_id)


def _new_code(taken: set[str]) -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if code not in taken:
            return code


def normalise_code(text: str) -> str:
    """A join code as typed (any case, spaces, dashes) in its stored form."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


def session_by_id(conn: sqlite3.Connection, session_id: int) -> Session | None:
    """The session with this id, if any."""
    return one(conn, "SELECT * FROM sessions WHERE id = ?", (session_id,), _session)


def session_by_code(conn: sqlite3.Connection, code: str) -> Session | None:
    """The session with this join code (as typed), if any."""
    return one(conn, "SELECT * FROM sessions WHERE code = ?", (normalise_code(code),),
               _session)


def all_sessions(conn: sqlite3.Connection) -> list[Session]:
    """Every session, newest first."""
    return [_session(r) for r in conn.execute("SELECT * FROM sessions ORDER BY id DESC")]


def set_state(conn: sqlite3.Connection, session_id: int, state: str, *,
              expect: tuple[str, ...]) -> bool:
    """Move a session to ``state`` if it is in one of ``expect``; False if it was not."""
    column = {LOCKED: "locked_at", REVEALED: "revealed_at"}.get(state)
    stamp = f", {column} = {time.time()!r}" if column else ""
    marks = ",".join("?" * len(expect))
    cur = write(conn, f"UPDATE sessions SET state = ?{stamp} WHERE id = ? "
                       f"AND state IN ({marks})", (state, session_id, *expect))
    return cur.rowcount == 1


def update_setup(conn: sqlite3.Connection, session_id: int, outcomes: tuple[str, ...],
                 levers: tuple[str, ...], runs: int, seed: int) -> None:
    """Change a session's questions and run size."""
    write(conn, "UPDATE sessions SET outcomes = ?, levers = ?, runs = ?, seed = ? "
                 "WHERE id = ?", (json.dumps(list(outcomes)), json.dumps(list(levers)), runs,
                                  seed, session_id))


def set_hide_names(conn: sqlite3.Connection, session_id: int, hide: bool) -> None:
    """Show or hide student names on the projected ranking."""
    write(conn, "UPDATE sessions SET hide_names = ? WHERE id = ?", (int(hide), session_id))


# -- students --------------------------------------------------------------------------------
def _student(row: sqlite3.Row) -> Student:
    return Student(row["id"], row["session_id"], row["name"], row["token"], row["joined_at"])


def name_key(name: str) -> str:
    """Names are unique within a session regardless of case and inner spacing."""
    return " ".join(name.split()).casefold()


def add_student(conn: sqlite3.Connection, session_id: int, name: str) -> Student | None:
    """Add a student; None if the name is taken in this session."""
    token = secrets.token_urlsafe(24)
    try:
        cur = write(conn, "INSERT INTO students (session_id, name, name_key, token, "
                    "joined_at) VALUES (?, ?, ?, ?, ?)",
                    (session_id, name, name_key(name), token, time.time()))
    except sqlite3.IntegrityError:
        return None
    return Student(int(cur.lastrowid or 0), session_id, name, token, time.time())


def student_by_token(conn: sqlite3.Connection, token: str) -> Student | None:
    """The student whose browser holds ``token``, if any."""
    return one(conn, "SELECT * FROM students WHERE token = ?", (token,), _student)


def students(conn: sqlite3.Connection, session_id: int) -> list[Student]:
    """The session's students in joining order."""
    return [_student(r) for r in conn.execute(
        "SELECT * FROM students WHERE session_id = ? ORDER BY id", (session_id,))]


# -- forecasts -------------------------------------------------------------------------------
def _forecast(row: sqlite3.Row) -> Forecast:
    return Forecast(row["student_id"], json.loads(row["probabilities"]),
                    json.loads(row["setting"]), row["reasoning"], row["updated_at"])


def save_forecast(conn: sqlite3.Connection, session_id: int, forecast: Forecast) -> bool:
    """Insert or replace a student's forecast while the session is open; False if locked.

    The state check and the write are one statement, so a forecast can never slip in after
    the lock."""
    cur = write(conn,
        "INSERT INTO forecasts (student_id, probabilities, setting, reasoning, updated_at) "
        "SELECT ?, ?, ?, ?, ? WHERE (SELECT state FROM sessions WHERE id = ?) = ? "
        "ON CONFLICT (student_id) DO UPDATE SET probabilities = excluded.probabilities, "
        "setting = excluded.setting, reasoning = excluded.reasoning, "
        "updated_at = excluded.updated_at",
        (forecast.student_id, json.dumps(forecast.probabilities), json.dumps(forecast.setting),
         forecast.reasoning, forecast.updated_at, session_id, OPEN))
    return cur.rowcount == 1


def forecast_of(conn: sqlite3.Connection, student_id: int) -> Forecast | None:
    """A student's latest forecast, if they submitted one."""
    return one(conn, "SELECT * FROM forecasts WHERE student_id = ?", (student_id,),
               _forecast)


def forecasts(conn: sqlite3.Connection, session_id: int) -> dict[int, Forecast]:
    """Every submitted forecast of a session, by student id."""
    rows = conn.execute("SELECT f.* FROM forecasts f JOIN students s ON s.id = f.student_id "
                        "WHERE s.session_id = ?", (session_id,))
    return {r["student_id"]: _forecast(r) for r in rows}


# -- runs --------------------------------------------------------------------------------------
def _run(row: sqlite3.Row) -> Run:
    result = json.loads(row["result"]) if row["result"] else None
    return Run(row["id"], row["session_id"], row["state"], row["done"], row["total"],
               row["message"], result, row["created_at"], row["finished_at"])


def start_run(conn: sqlite3.Connection, session_id: int, total: int) -> Run | None:
    """Queue a run unless one is already queued or running (then None)."""
    with transaction(conn):
        live = conn.execute("SELECT 1 FROM runs WHERE session_id = ? AND state IN (?, ?)",
                            (session_id, *LIVE_RUN_STATES)).fetchone()
        if live is not None:
            return None
        cur = conn.execute("INSERT INTO runs (session_id, state, total, created_at) "
                           "VALUES (?, ?, ?, ?)", (session_id, QUEUED, total, time.time()))
    return inserted(conn, cur, run_by_id)


def run_by_id(conn: sqlite3.Connection, run_id: int) -> Run | None:
    """The run with this id, if any."""
    return one(conn, "SELECT * FROM runs WHERE id = ?", (run_id,), _run)


def latest_run(conn: sqlite3.Connection, session_id: int) -> Run | None:
    """The session's most recent run, if any."""
    return one(conn, "SELECT * FROM runs WHERE session_id = ? ORDER BY id DESC LIMIT 1",
               (session_id,), _run)


def finished_run(conn: sqlite3.Connection, session_id: int) -> Run | None:
    """The session's most recent successful run, if any."""
    return one(conn, "SELECT * FROM runs WHERE session_id = ? AND state = ? "
                     "ORDER BY id DESC LIMIT 1", (session_id, DONE), _run)


def run_progress(conn: sqlite3.Connection, run_id: int, done: int, total: int) -> None:
    """Record progress of a live run."""
    write(conn, "UPDATE runs SET state = ?, done = ?, total = ? WHERE id = ? "
                 "AND state IN (?, ?)", (RUNNING, done, total, run_id, *LIVE_RUN_STATES))


def end_run(conn: sqlite3.Connection, run_id: int, state: str, message: str = "") -> bool:
    """Mark a live run failed or interrupted; False if it had already ended."""
    cur = write(conn, "UPDATE runs SET state = ?, message = ?, finished_at = ? WHERE id = ? "
                       "AND state IN (?, ?)",
                       (state, message, time.time(), run_id, *LIVE_RUN_STATES))
    return cur.rowcount == 1


def interrupt_live_runs(conn: sqlite3.Connection, message: str) -> int:
    """Mark every queued or running run interrupted (at server start: none can be alive)."""
    cur = write(conn, "UPDATE runs SET state = ?, message = ?, finished_at = ? "
                       "WHERE state IN (?, ?)",
                       (INTERRUPTED, message, time.time(), *LIVE_RUN_STATES))
    return cur.rowcount


def finish_run(conn: sqlite3.Connection, run_id: int, result: dict[str, Any],
               plots: dict[str, bytes], scores: list[tuple[int, float, int]]) -> bool:
    """Store a finished run's result, plots and scores together; False if it was cancelled."""
    with transaction(conn):
        cur = conn.execute("UPDATE runs SET state = ?, done = total, result = ?, "
                           "finished_at = ? WHERE id = ? AND state IN (?, ?)",
                           (DONE, json.dumps(result), time.time(), run_id, *LIVE_RUN_STATES))
        if cur.rowcount != 1:
            return False
        conn.executemany("INSERT INTO run_plots (run_id, name, png) VALUES (?, ?, ?)",
                         [(run_id, name, png) for name, png in plots.items()])
        conn.executemany("INSERT INTO scores (run_id, student_id, brier, rank) "
                         "VALUES (?, ?, ?, ?)",
                         [(run_id, sid, brier, rank) for sid, brier, rank in scores])
    return True


def plot(conn: sqlite3.Connection, run_id: int, name: str) -> bytes | None:
    """A stored plot of a run as PNG bytes."""
    return one(conn, "SELECT png FROM run_plots WHERE run_id = ? AND name = ?",
               (run_id, name), lambda row: bytes(row["png"]))


def plot_names(conn: sqlite3.Connection, run_id: int) -> list[str]:
    """Names of a run's stored plots, in the order they were made."""
    return [r["name"] for r in conn.execute(
        "SELECT name FROM run_plots WHERE run_id = ? ORDER BY rowid", (run_id,))]


def scores(conn: sqlite3.Connection, run_id: int) -> list[Score]:
    """A run's scores, best first."""
    return [Score(r["student_id"], r["name"], r["brier"], r["rank"]) for r in conn.execute(
        "SELECT sc.student_id, st.name, sc.brier, sc.rank FROM scores sc "
        "JOIN students st ON st.id = sc.student_id WHERE sc.run_id = ? "
        "ORDER BY sc.rank, st.id", (run_id,))]
