"""The crisis game's rows: games, their teams' members, their debriefs.

A game is stored as the JSON of :meth:`sim.analyses.game.CrisisGame.state` (its set-up,
every resolved turn, the pending moves and injections, the deadline), so a server restart
mid-turn loses nothing: the next request rebuilds the game by replaying its turns. Writes
go through :func:`sim.web.db.transaction`, so two teams submitting at once are applied one
after the other. The game area's SQL lives here, beside ``store`` (the classroom's).
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any, NamedTuple

from .db import Migration, inserted, one

MIGRATIONS: tuple[Migration, ...] = (
    Migration("game-1", """
        CREATE TABLE games (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            state TEXT NOT NULL,             -- JSON, sim.analyses.game.CrisisGame.state()
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE INDEX games_by_session ON games (session_id, id);
        CREATE TABLE game_members (
            game_id INTEGER NOT NULL REFERENCES games(id) ON DELETE CASCADE,
            student_id INTEGER NOT NULL REFERENCES students(id) ON DELETE CASCADE,
            team TEXT NOT NULL,              -- the actor id the student's team plays
            joined_at REAL NOT NULL,
            PRIMARY KEY (game_id, student_id)
        );
        CREATE TABLE game_debriefs (
            game_id INTEGER PRIMARY KEY REFERENCES games(id) ON DELETE CASCADE,
            state TEXT NOT NULL,             -- running, done, failed
            done INTEGER NOT NULL DEFAULT 0,
            total INTEGER NOT NULL DEFAULT 0,
            message TEXT NOT NULL DEFAULT '',
            body TEXT,                       -- the debrief's HTML content (escaped)
            page TEXT,                       -- the printable, self-contained HTML page
            markdown TEXT,
            started_at REAL NOT NULL,
            finished_at REAL
        );
    """),
)
RUNNING, DONE, FAILED = "running", "done", "failed"


class GameRow(NamedTuple):
    """A stored game: its class session and its saved state."""

    id: int
    session_id: int
    state: dict[str, Any]
    created_at: float


class Member(NamedTuple):
    """A student in a team of a game."""

    student_id: int
    name: str
    team: str


class DebriefRow(NamedTuple):
    """A game's debrief: being computed (with progress), done, or failed (with why)."""

    game_id: int
    state: str
    done: int
    total: int
    message: str
    body: str | None
    page: str | None
    markdown: str | None


def _game(row: sqlite3.Row) -> GameRow:
    return GameRow(row["id"], row["session_id"], json.loads(row["state"]), row["created_at"])


def create_game(conn: sqlite3.Connection, session_id: int, state: dict[str, Any]) -> GameRow:
    """A new game in a session."""
    now = time.time()
    cur = conn.execute("INSERT INTO games (session_id, state, created_at, updated_at) "
                       "VALUES (?, ?, ?, ?)", (session_id, json.dumps(state), now, now))
    return inserted(conn, cur, game_by_id)


def game_by_id(conn: sqlite3.Connection, game_id: int) -> GameRow | None:
    """The game with this id, if any."""
    return one(conn, "SELECT * FROM games WHERE id = ?", (game_id,), _game)


def latest_game(conn: sqlite3.Connection, session_id: int) -> GameRow | None:
    """The session's most recent game, if any."""
    return one(conn, "SELECT * FROM games WHERE session_id = ? ORDER BY id DESC LIMIT 1",
               (session_id,), _game)


def games_of(conn: sqlite3.Connection, session_id: int) -> list[GameRow]:
    """Every game of a session, newest first."""
    return [_game(r) for r in conn.execute(
        "SELECT * FROM games WHERE session_id = ? ORDER BY id DESC", (session_id,))]


def save_state(conn: sqlite3.Connection, game_id: int, state: dict[str, Any]) -> None:
    """Store a game's new state."""
    conn.execute("UPDATE games SET state = ?, updated_at = ? WHERE id = ?",
                 (json.dumps(state), time.time(), game_id))


def members(conn: sqlite3.Connection, game_id: int) -> list[Member]:
    """The game's players with their teams, in joining order."""
    return [Member(r["student_id"], r["name"], r["team"]) for r in conn.execute(
        "SELECT m.student_id, s.name, m.team FROM game_members m JOIN students s "
        "ON s.id = m.student_id WHERE m.game_id = ? ORDER BY m.joined_at, s.id", (game_id,))]


def team_of(conn: sqlite3.Connection, game_id: int, student_id: int) -> str | None:
    """The team a student plays in, if they joined one."""
    return one(conn, "SELECT team FROM game_members WHERE game_id = ? AND student_id = ?",
               (game_id, student_id), lambda row: str(row["team"]))


def join_team(conn: sqlite3.Connection, game_id: int, student_id: int, team: str) -> bool:
    """Put a student in a team; False if they already are in one (teams are for good)."""
    cur = conn.execute("INSERT OR IGNORE INTO game_members (game_id, student_id, team, "
                       "joined_at) VALUES (?, ?, ?, ?)", (game_id, student_id, team,
                                                          time.time()))
    return cur.rowcount == 1


def _debrief(row: sqlite3.Row) -> DebriefRow:
    return DebriefRow(row["game_id"], row["state"], row["done"], row["total"], row["message"],
                      row["body"], row["page"], row["markdown"])


def debrief_of(conn: sqlite3.Connection, game_id: int) -> DebriefRow | None:
    """The game's debrief row, if one was started."""
    return one(conn, "SELECT * FROM game_debriefs WHERE game_id = ?", (game_id,), _debrief)


def start_debrief(conn: sqlite3.Connection, game_id: int) -> bool:
    """Mark a debrief as running; False if one is running already."""
    row = debrief_of(conn, game_id)
    if row is not None and row.state == RUNNING:
        return False
    conn.execute("INSERT OR REPLACE INTO game_debriefs (game_id, state, started_at) "
                 "VALUES (?, ?, ?)", (game_id, RUNNING, time.time()))
    return True


def debrief_progress(conn: sqlite3.Connection, game_id: int, done: int, total: int) -> None:
    """Record how far the debrief has got."""
    conn.execute("UPDATE game_debriefs SET done = ?, total = ? WHERE game_id = ?",
                 (done, total, game_id))


def finish_debrief(conn: sqlite3.Connection, game_id: int, body: str, page: str,
                   markdown: str) -> None:
    """Store a finished debrief."""
    conn.execute("UPDATE game_debriefs SET state = ?, body = ?, page = ?, markdown = ?, "
                 "finished_at = ? WHERE game_id = ?",
                 (DONE, body, page, markdown, time.time(), game_id))


def fail_debrief(conn: sqlite3.Connection, game_id: int, message: str) -> None:
    """A debrief that could not finish, and why."""
    conn.execute("UPDATE game_debriefs SET state = ?, message = ?, finished_at = ? "
                 "WHERE game_id = ? AND state = ?", (FAILED, message, time.time(), game_id,
                                                     RUNNING))
