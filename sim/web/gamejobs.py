"""A game's debrief, computed in a worker process (never in the web server's threads).

The debrief runs the scenario under the default policy and re-runs the game from its state
at every turn (:func:`sim.analyses.debrief.debrief`); for the flagship that takes a minute
or so. A *spawned* daemon process does it, writes its progress to ``game_debriefs`` and
stores the finished page; pages only read that row. A debrief whose process is gone (the
server stopped) is reported failed, never left "running".
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sqlite3
import threading
import time
from multiprocessing.process import BaseProcess
from pathlib import Path

from ..analyses.debrief import Debrief, debrief
from ..analyses.game import CrisisGame
from ..errors import SimError
from ..present import debrief as document
from ..present import gameplots
from ..present.plots import png_bytes
from . import gamestore, jobs, store
from .db import connect

PROGRESS_EVERY = 0.5
MOVES_FILE = "game-moves.yaml"


def images(game: CrisisGame, result: Debrief) -> dict[str, bytes]:
    """The debrief's figures as PNG bytes."""
    model, record = game.base, game.record()
    figures = {"game_fan": gameplots.path_over_fan(result.summary, model, record),
               "game_incidence": gameplots.marks_on_incidence(result.summary, model, record),
               "game_risk": gameplots.risk_path(result, model)}
    return {name: png_bytes(fig) for name, fig in figures.items()}


def execute(db_path: str, game_id: int, runs: int, continuations: int) -> None:
    """Compute and store one game's debrief (in the worker process)."""
    conn = connect(db_path)
    try:
        row = gamestore.game_by_id(conn, game_id)
        assert row is not None
        session = store.session_by_id(conn, row.session_id)
        assert session is not None
        game = CrisisGame.restore(jobs.session_model(session), row.state)
        last = 0.0

        def progress(done: int, total: int) -> None:
            nonlocal last
            if time.monotonic() - last >= PROGRESS_EVERY or done >= total:
                last = time.monotonic()
                gamestore.debrief_progress(conn, game_id, done, total)

        result = debrief(game, runs=runs, continuations=continuations, workers=1,
                         progress=progress)
        pictures = images(game, result)
        gamestore.finish_debrief(
            conn, game_id, document.body_html(game, result, pictures, MOVES_FILE),
            document.to_html(game, result, pictures, MOVES_FILE),
            document.to_markdown(game, result, MOVES_FILE))
    except SimError as exc:
        gamestore.fail_debrief(conn, game_id, str(exc))
    except Exception as exc:  # noqa: BLE001 - the row must say why; the page shows it
        gamestore.fail_debrief(conn, game_id, f"The debrief failed unexpectedly "
                                              f"({type(exc).__name__}: {exc}).")
        raise
    finally:
        conn.close()


def debrief_main(db_path: str, game_id: int, runs: int, continuations: int, nice: int) -> None:
    """Entry point of a debrief's process."""
    if nice and hasattr(os, "nice"):
        os.nice(nice)
    execute(db_path, game_id, runs, continuations)


class DebriefJobs:
    """The debrief processes this server started (one per game at most)."""

    def __init__(self) -> None:
        self._procs: dict[int, BaseProcess] = {}
        self._lock = threading.Lock()

    def start(self, db: Path, game_id: int, runs: int, continuations: int, nice: int) -> None:
        """Start a debrief's process (a daemon: it ends with the server)."""
        proc = mp.get_context("spawn").Process(
            target=debrief_main, name=f"sim-debrief-{game_id}", daemon=True,
            args=(str(db), game_id, runs, continuations, nice))
        with self._lock:
            self._procs[game_id] = proc
        proc.start()

    def check(self, conn: sqlite3.Connection, row: gamestore.DebriefRow) -> gamestore.DebriefRow:
        """The row as stored, marked failed first if its process is gone without a word."""
        if row.state != gamestore.RUNNING:
            return row
        with self._lock:
            proc = self._procs.get(row.game_id)
        if proc is not None and (proc.is_alive() or proc.exitcode is None):
            return row
        gamestore.fail_debrief(conn, row.game_id, "The debrief's process stopped before it "
                                                  "finished (was the server restarted?); "
                                                  "start it again.")
        fresh = gamestore.debrief_of(conn, row.game_id)
        assert fresh is not None
        return fresh
