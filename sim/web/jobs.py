"""Runs of a class session, in worker processes, never in the web server's threads.

Pressing Run queues a row in ``runs`` and starts one *spawned* process (a fresh
interpreter: the server's threads are never forked) at a lower priority. That process
loads the session's scenario from the database, runs the base case and every distinct
recommended policy on common random numbers (``sim.api.compare_policies``: the comparison
machinery of ``sim compare``; its own pool of workers does the replications), writes its
progress as it goes, then stores the result, the plots and every student's score in one
transaction. Pages only read those rows, so a lecturer who reloads mid-run sees the same
progress, and a run whose process died is reported, never left "running" forever.
"""

from __future__ import annotations

import functools
import multiprocessing as mp
import os
import sqlite3
import threading
import time
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, NamedTuple

from .. import api
from ..analyses.compare import Comparison
from ..analyses.policies import Recommended, distinct, policy_of
from ..api import Analysis
from ..errors import SimError
from ..faults import MODEL_ERROR, WORKER_LOST, Stop, Stopped, sigterm_interrupts
from ..results.scoring import brier, ranks
from ..spec.loader import load_text
from ..spec.model import Model
from . import store
from .config import MAX_POLICIES, ServeConfig
from .db import connect

PROGRESS_EVERY = 0.5  # seconds between progress writes


class RunPlan(NamedTuple):
    """What a run of a session will compute: the model and the policies, and those left
    out because of the cap on policies per run."""

    model: Model
    policies: list[Recommended]
    left_out: list[Recommended]


def session_model(session: store.Session) -> Model:
    """The session's scenario, compiled from the text stored with it (once per process:
    compiling the flagship takes a third of a second, far too long for every page)."""
    return compiled(session.scenario_text, session.scenario_name)


@functools.lru_cache(maxsize=32)
def compiled(text: str, name: str) -> Model:
    """A scenario text compiled once per process (a Model is immutable: sharing is safe)."""
    return load_text(text, name)


def plan(conn: sqlite3.Connection, session: store.Session) -> RunPlan:
    """The base case plus the distinct policies the class recommended (most popular
    first, at most MAX_POLICIES)."""
    model = session_model(session)
    chosen = [policy_of(model, f.setting)
              for f in store.forecasts(conn, session.id).values()]
    kept, left = distinct(chosen, MAX_POLICIES)
    return RunPlan(model, kept, left)


def result_of(session: store.Session, comp: Comparison, run_plan: RunPlan) -> dict[str, Any]:
    """The JSON stored for a finished run: the model's answer to each question, and each
    policy against the base with paired 95% intervals."""
    base = comp.summaries[0]
    by_id = {line.id: line for line in base.outcomes}
    outcomes = [{"id": oid, "name": by_id[oid].name, "k": by_id[oid].estimate.k,
                 "n": by_id[oid].estimate.n, "p": by_id[oid].estimate.p,
                 "low": by_id[oid].estimate.low, "high": by_id[oid].estimate.high}
                for oid in session.outcomes]
    policies = []
    for i, rec in enumerate(run_plan.policies, start=1):
        rows = []
        for oid in session.outcomes:
            d = comp.difference(comp.names[i], oid)
            rows.append({"id": oid, "p": d.other, "diff": d.diff, "low": d.low,
                         "high": d.high})
        policies.append({"label": rec.policy.label, "levers": dict(rec.policy.levers),
                         "recommended": rec.votes, "outcomes": rows})
    return {"runs": comp.runs, "seed": comp.seed, "elapsed": comp.elapsed,
            "scenario": base.scenario, "outcomes": outcomes, "policies": policies,
            "left_out": [{"label": r.policy.label, "recommended": r.votes}
                         for r in run_plan.left_out],
            "warnings": list(base.warnings)}


def class_scores(conn: sqlite3.Connection, session: store.Session,
                 truth: dict[str, float]) -> list[tuple[int, float, int]]:
    """(student id, Brier score, rank) of every student who forecast."""
    given = store.forecasts(conn, session.id)
    ids = sorted(given)
    briers = [brier(given[i].probabilities, truth) for i in ids]
    return list(zip(ids, briers, ranks(briers), strict=True))


def plots(analysis: Analysis) -> dict[str, bytes]:
    """The standard plots of the base case, and the comparison plot when policies ran."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..present.plots import figures, png_bytes
    assert analysis.base is not None
    figs = {**figures(analysis.base, analysis.model), **analysis.figures()}
    out = {}
    for name, fig in figs.items():
        out[name] = png_bytes(fig)
        plt.close(fig)
    return out


def execute(conn: sqlite3.Connection, run_id: int, workers: int | None) -> None:
    """Do one queued run to the end (called in the worker process)."""
    run = store.run_by_id(conn, run_id)
    assert run is not None
    session = store.session_by_id(conn, run.session_id)
    assert session is not None
    run_plan = plan(conn, session)
    last = 0.0

    def progress(done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= PROGRESS_EVERY or done >= total:
            last = now
            store.run_progress(conn, run_id, done, total)

    store.run_progress(conn, run_id, 0, session.runs)
    try:
        analysis = api.compare_policies(run_plan.model, [r.policy for r in run_plan.policies],
                                        runs=session.runs, seed=session.seed,
                                        workers=workers, progress=progress)
    except Stopped as exc:  # stopped before any run finished
        end_stopped(conn, run_id, exc.stop, 0, session.runs)
        return
    if analysis.stop is not None:
        end_stopped(conn, run_id, analysis.stop, analysis.result.runs, session.runs)
        return
    result = result_of(session, analysis.result, run_plan)
    truth = {o["id"]: o["p"] for o in result["outcomes"]}
    store.finish_run(conn, run_id, result, plots(analysis), class_scores(conn, session, truth))


def end_stopped(conn: sqlite3.Connection, run_id: int, stop: Stop, done: int,
                requested: int) -> None:
    """Record why a run stopped early: a model error or a lost worker fails it (with the
    simulator's message); Ctrl-C or SIGTERM interrupt it (run it again)."""
    if stop.kind in (MODEL_ERROR, WORKER_LOST):
        store.end_run(conn, run_id, store.FAILED, stop.message)
    else:
        store.end_run(conn, run_id, store.INTERRUPTED,
                      f"Stopped ({stop.message}) after {done} of {requested} runs; run it "
                      "again.")


def job_main(db_path: str, run_id: int, workers: int | None, nice: int) -> None:
    """Entry point of a run's process: every way it can end is written to the run's row
    (the server stops a run with SIGTERM, which the runner handles like Ctrl-C)."""
    if nice and hasattr(os, "nice"):
        os.nice(nice)
    conn = connect(db_path)
    try:
        with sigterm_interrupts():
            execute(conn, run_id, workers)
    except KeyboardInterrupt:
        store.end_run(conn, run_id, store.INTERRUPTED, "The run was stopped; run it again.")
    except SimError as exc:
        store.end_run(conn, run_id, store.FAILED, str(exc))
    except Exception as exc:  # noqa: BLE001 - the row must say why; the server shows it
        store.end_run(conn, run_id, store.FAILED,
                      f"The run failed unexpectedly ({type(exc).__name__}: {exc}).")
        raise
    finally:
        conn.close()


class Jobs:
    """The server's view of run processes it started (one per live run)."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self._procs: dict[int, BaseProcess] = {}
        self._lock = threading.Lock()

    def start(self, run_id: int) -> None:
        """Start the process of a queued run."""
        ctx = mp.get_context("spawn")
        proc = ctx.Process(target=job_main, name=f"sim-run-{run_id}",
                           args=(str(Path(self.config.db)), run_id, self.config.workers,
                                 self.config.job_nice))
        with self._lock:
            self._procs[run_id] = proc
        proc.start()

    def check(self, conn: sqlite3.Connection, run: store.Run) -> store.Run:
        """The run as stored, marked failed first if its process is gone without a word."""
        if not run.live:
            return run
        with self._lock:
            proc = self._procs.get(run.id)
        if proc is not None and (proc.is_alive() or proc.exitcode is None):
            return run
        code = None if proc is None else proc.exitcode
        store.end_run(conn, run.id, store.FAILED,
                      f"The run's process stopped unexpectedly (exit code {code}); run it "
                      "again.")
        fresh = store.run_by_id(conn, run.id)
        assert fresh is not None
        return fresh

    def stop_all(self, timeout: float = 10.0) -> None:
        """Stop every live run (at server shutdown); each records itself interrupted."""
        with self._lock:
            procs = dict(self._procs)
            self._procs.clear()
        for proc in procs.values():
            if proc.is_alive():
                proc.terminate()
        for proc in procs.values():
            proc.join(timeout)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout)
        conn = connect(self.config.db)
        try:  # a process stopped before it could say so (still starting, or killed)
            for run_id in procs:
                store.end_run(conn, run_id, store.INTERRUPTED,
                              "The server stopped during this run; run it again.")
        finally:
            conn.close()
