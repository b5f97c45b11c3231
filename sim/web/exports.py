"""What leaves the app: a session as CSV, a printable debrief page, and the run's plots.

CSV and debrief are the lecturer's; a plot is served to the lecturer, or to a student of
the session once it has been revealed.
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from . import store
from .db import Migration
from .deps import Db, Denied, Lecturer, lecturer_token, render, session_or_404
from .lecturer import reveal_context
from .security import LECTURER_COOKIE, STUDENT_COOKIE, same_secret

MIGRATIONS: tuple[Migration, ...] = ()
PLOT_NAME = re.compile(r"[a-z_]{1,40}")

router = APIRouter(tags=["exports"])


def _csv_cell(value: object) -> str:
    """A cell that a spreadsheet will not run as a formula."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") and \
        not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def session_csv(conn: sqlite3.Connection, session: store.Session) -> str:
    """One row per student: forecasts, recommended levers, reasoning, score and rank."""
    given = store.forecasts(conn, session.id)
    finished = store.finished_run(conn, session.id)
    scores = {s.student_id: s for s in store.scores(conn, finished.id)} if finished else {}
    truth = {o["id"]: o["p"] for o in (finished.result or {}).get("outcomes", [])} \
        if finished else {}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["session", "code", "student", "joined", "submitted", "updated"]
                    + [f"forecast_{o}" for o in session.outcomes]
                    + [f"model_{o}" for o in session.outcomes]
                    + [f"recommend_{lv}" for lv in session.levers]
                    + ["reasoning", "brier", "rank", "runs", "seed"])
    for student in store.students(conn, session.id):
        f = given.get(student.id)
        score = scores.get(student.id)
        row: list[object] = [session.title, session.code, student.name, _iso(student.joined_at),
               "yes" if f else "no", _iso(f.updated_at) if f else ""]
        row += [f"{f.probabilities[o]:g}" if f and o in f.probabilities else ""
                for o in session.outcomes]
        row += [f"{truth[o]:.6f}" if o in truth else "" for o in session.outcomes]
        row += [str(f.setting.get(lv, "")).lower() if f else "" for lv in session.levers]
        row += [f.reasoning if f else "", f"{score.brier:.6f}" if score else "",
                score.rank if score else "", finished.result["runs"]
                if finished and finished.result else "", session.seed]
        writer.writerow([_csv_cell(c) for c in row])
    return out.getvalue()


def _iso(stamp: float) -> str:
    import datetime as dt
    return dt.datetime.fromtimestamp(stamp).isoformat(timespec="seconds")


@router.get("/lecturer/sessions/{session_id}/export.csv", dependencies=[Lecturer])
def export_csv(conn: Db, session_id: int) -> Response:
    """The session as CSV (UTF-8 with a byte-order mark, so spreadsheets read names)."""
    session = session_or_404(conn, session_id)
    return Response("\ufeff" + session_csv(conn, session), media_type="text/csv",
                    headers={"content-disposition":
                             f'attachment; filename="class-{session.code}.csv"'})


@router.get("/lecturer/sessions/{session_id}/debrief", dependencies=[Lecturer],
            response_class=HTMLResponse)
def debrief(request: Request, conn: Db, session_id: int) -> HTMLResponse:
    """A printable debrief: the questions, the model's answers, the class, the policies."""
    session = session_or_404(conn, session_id)
    finished = store.finished_run(conn, session.id)
    if finished is None:
        raise Denied(409, "No debrief yet",
                     "The debrief shows a finished run: lock the forecasts and run first.")
    return render(request, "debrief.html", {"s": session,
                                            **reveal_context(conn, session, finished)})


@router.get("/sessions/{session_id}/runs/{run_id}/plots/{name}.png")
def plot(request: Request, conn: Db, session_id: int, run_id: int, name: str) -> Response:
    """A plot of a finished run: for the lecturer, or a student of the revealed session."""
    session = session_or_404(conn, session_id)
    if not same_secret(request.cookies.get(LECTURER_COOKIE), lecturer_token(conn)):
        token = request.cookies.get(STUDENT_COOKIE)
        student = store.student_by_token(conn, token) if token else None
        if student is None or student.session_id != session.id or \
                session.state != store.REVEALED:
            raise Denied(403, "Not yet", "The plots appear after the lecturer's reveal.")
    run = store.run_by_id(conn, run_id)
    png = store.plot(conn, run_id, name) if run is not None and run.session_id == session.id \
        and PLOT_NAME.fullmatch(name) else None
    if png is None:
        raise Denied(404, "No such plot", "This run has no plot of that name.")
    return Response(png, media_type="image/png")
