"""The lecturer's pages: sign in with the printed token, create a session, set its
questions, watch who joined, lock, run, reveal.

Every route but the sign-in depends on ``Lecturer``; state changes are POSTs answered with
a redirect (reloading a page never repeats an action) and a notice saying what happened.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from ..analyses.policies import lever_options
from ..errors import ScenarioError
from ..spec.loader import load_text
from ..spec.model import Model
from ..spec.yamlsrc import MAX_FILE_BYTES
from . import forms, jobs, store, views
from .config import DEFAULT_RUNS, MAX_POLICIES, shipped_scenarios
from .db import Migration
from .deps import Config, Db, Denied, Fields, Lecturer, lecturer_token, render, session_or_404
from .security import LECTURER_COOKIE, same_secret

MIGRATIONS: tuple[Migration, ...] = ()
DEFAULT_OUTCOMES = 5
REFRESH_SECONDS = 3

router = APIRouter(prefix="/lecturer", tags=["lecturer"])

NOTICES = {
    "created": "Session created. Check the questions below, then show the join code.",
    "setup": "Questions saved.",
    "setup-fixed": "The questions are fixed once a student has forecast.",
    "locked": "Forecasts are locked. Students can no longer change them.",
    "not-open": "Forecasts were already locked.",
    "unlocked": "Forecasts are open again.",
    "cannot-unlock": "Forecasts cannot be reopened after the reveal or during a run.",
    "run-started": "The run has started; this page shows its progress.",
    "run-live": "A run is already going: it was not started twice.",
    "lock-first": "Lock the forecasts before running, so that nobody forecasts after.",
    "revealed": "Revealed: students now see the model's answers and their own scores.",
    "run-first": "Run the model before revealing.",
    "names": "Names setting saved.",
}


def _notice(request: Request) -> str:
    return NOTICES.get(request.query_params.get("notice", ""), "")


def _to_session(session_id: int, notice: str) -> RedirectResponse:
    return RedirectResponse(f"/lecturer/sessions/{session_id}?notice={notice}",
                            status_code=303)


@router.get("", response_class=HTMLResponse)
def home(request: Request, conn: Db, config: Config, token: str | None = None) -> Response:
    """The sessions list and the new-session form; ``?token=`` signs the browser in."""
    real = lecturer_token(conn)
    if token is not None:
        if not same_secret(token, real):
            raise Denied(403, "Wrong lecturer token",
                         "That token is not this server's. Copy the lecturer address again "
                         "from the terminal where 'python -m sim serve' runs.")
        response = RedirectResponse("/lecturer", status_code=303)
        response.set_cookie(LECTURER_COOKIE, real, httponly=True, samesite="strict",
                            max_age=60 * 60 * 24 * 30)
        return response
    if not same_secret(request.cookies.get(LECTURER_COOKIE), real):
        raise Denied(403, "Lecturer only",
                     "Open the lecturer address printed in the terminal where "
                     "'python -m sim serve' runs (it ends in ?token=...).")
    return _home_page(request, conn, config)


def _home_page(request: Request, conn: Any, config: Any, problems: list[str] | None = None,
               status_code: int = 200) -> HTMLResponse:
    return render(request, "lecturer_home.html", {
        "sessions": store.all_sessions(conn),
        "scenarios": list(shipped_scenarios(config.scenarios)),
        "problems": problems or [], "max_mb": MAX_FILE_BYTES // 1_000_000,
    }, status_code=status_code)


def _read_upload(upload: UploadFile) -> tuple[str, str]:
    """(file name, text) of an uploaded scenario; ValueError with the reason if unusable."""
    raw = upload.file.read(MAX_FILE_BYTES + 1)
    name = "".join(ch for ch in (upload.filename or "upload.yaml").split("/")[-1]
                   .split("\\")[-1] if ch.isprintable())[:80] or "upload.yaml"
    if len(raw) > MAX_FILE_BYTES:
        raise ValueError(f"{name}: the file is larger than {MAX_FILE_BYTES:,} bytes, the "
                         "limit for scenarios.")
    if not raw.strip():
        raise ValueError(f"{name}: the file is empty.")
    try:
        return name, raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{name}: not UTF-8 text (byte {exc.start}); save the scenario as "
                         "UTF-8 YAML.") from None


@router.post("/sessions", dependencies=[Lecturer], response_class=HTMLResponse)
def create(request: Request, conn: Db, config: Config,
           scenario: Annotated[str, Form()] = "", title: Annotated[str, Form()] = "",
           upload: Annotated[UploadFile | None, File()] = None) -> Response:
    """Create a session from a shipped scenario or an uploaded YAML file (validated by the
    loader; every problem is shown with its line)."""
    try:
        if upload is not None and upload.filename:
            name, text = _read_upload(upload)
        elif scenario in shipped_scenarios(config.scenarios):
            name = scenario
            text = shipped_scenarios(config.scenarios)[scenario].read_text(encoding="utf-8")
        else:
            raise ValueError("Choose a shipped scenario or upload a YAML file.")
        model = load_text(text, name)
    except ValueError as exc:
        return _home_page(request, conn, config, [str(exc)], 400)
    except ScenarioError as exc:
        return _home_page(request, conn, config, [str(p) for p in exc.problems], 400)
    if not model.outcomes:
        return _home_page(request, conn, config, [
            f"{name}: the scenario defines no outcomes, so there is nothing to forecast; "
            "add some under 'outcomes:'."], 400)
    session = store.create_session(conn, store.NewSession(
        forms.title(title, model.title), name, text,
        tuple(o.id for o in model.outcomes[:DEFAULT_OUTCOMES]),
        tuple(lv.id for lv in model.levers), DEFAULT_RUNS, model.seed))
    return RedirectResponse(f"/lecturer/sessions/{session.id}?notice=created",
                            status_code=303)


def _session_page(request: Request, conn: Any, session: store.Session,
                  errors: dict[str, str] | None = None, status_code: int = 200
                  ) -> HTMLResponse:
    model = jobs.session_model(session)
    jobs_ = request.app.state.jobs
    run = store.latest_run(conn, session.id)
    run = jobs_.check(conn, run) if run is not None else None
    given = store.forecasts(conn, session.id)
    join_url = f"{str(request.base_url).rstrip('/')}/join?code={session.code}"
    plan = jobs.plan(conn, session) if session.state != store.REVEALED else None
    refresh = REFRESH_SECONDS if session.state == store.OPEN or (run and run.live) else 0
    return render(request, "lecturer_session.html", {
        "s": session, "model": model, "notice": _notice(request), "errors": errors or {},
        "join_url": join_url, "qr": views.qr_svg(join_url),
        "local_only": request.base_url.hostname in ("127.0.0.1", "localhost", "::1"),
        "roster": views.roster(store.students(conn, session.id), given),
        "submitted": len(given), "run": run, "refresh": refresh,
        "percent": _percent(run), "plan": plan, "max_policies": MAX_POLICIES,
        "finished": store.finished_run(conn, session.id),
        "setup_open": session.state == store.OPEN and not given,
        "outcome_choices": [(o.id, o.name, o.id in session.outcomes) for o in model.outcomes],
        "lever_choices": _lever_choices(model, session),
    }, status_code=status_code)


def _percent(run: store.Run | None) -> int:
    if run is None or not run.total:
        return 0
    return min(100, math.floor(100 * run.done / run.total))


def _lever_choices(model: Model, session: store.Session) -> list[tuple[str, str, bool]]:
    return [(lv.id, f"{lv.id} (options: "
             f"{', '.join(views.option_label(v, '') for v in lever_options(lv))})",
             lv.id in session.levers) for lv in model.levers]


@router.get("/sessions/{session_id}", dependencies=[Lecturer], response_class=HTMLResponse)
def session_page(request: Request, conn: Db, session_id: int) -> HTMLResponse:
    """The control page: join code, who joined and submitted, lock, run, reveal."""
    return _session_page(request, conn, session_or_404(conn, session_id))


@router.post("/sessions/{session_id}/setup", dependencies=[Lecturer],
             response_class=HTMLResponse)
def setup(request: Request, conn: Db, form: Fields, session_id: int) -> Response:
    """Change the questions (outcomes, levers, runs, seed) until the first forecast."""
    session = session_or_404(conn, session_id)
    if session.state != store.OPEN or store.forecasts(conn, session.id):
        return _to_session(session.id, "setup-fixed")
    model = jobs.session_model(session)
    checked = {
        "outcomes": forms.choice_list([str(v) for v in form.getlist("outcomes")],
                                      [o.id for o in model.outcomes], "outcomes", 1),
        "levers": forms.choice_list([str(v) for v in form.getlist("levers")],
                                    [lv.id for lv in model.levers], "levers", 0),
        "runs": forms.runs(str(form.get("runs", ""))),
        "seed": forms.seed(str(form.get("seed", ""))),
    }
    errors = {k: c.error for k, c in checked.items() if c.error}
    if errors:
        return _session_page(request, conn, session, errors, 400)
    store.update_setup(conn, session.id, checked["outcomes"].value,  # type: ignore[arg-type]
                       checked["levers"].value, checked["runs"].value,  # type: ignore[arg-type]
                       checked["seed"].value)  # type: ignore[arg-type]
    return _to_session(session.id, "setup")


@router.post("/sessions/{session_id}/lock", dependencies=[Lecturer])
def lock(conn: Db, session_id: int) -> RedirectResponse:
    """Lock forecasts (idempotent: a second press says they were already locked)."""
    session = session_or_404(conn, session_id)
    ok = store.set_state(conn, session.id, store.LOCKED, expect=(store.OPEN,))
    return _to_session(session.id, "locked" if ok else "not-open")


@router.post("/sessions/{session_id}/unlock", dependencies=[Lecturer])
def unlock(request: Request, conn: Db, session_id: int) -> RedirectResponse:
    """Reopen forecasts (before the reveal, and not while a run is going)."""
    session = session_or_404(conn, session_id)
    run = store.latest_run(conn, session.id)
    if run is not None and request.app.state.jobs.check(conn, run).live:
        return _to_session(session.id, "cannot-unlock")
    ok = store.set_state(conn, session.id, store.OPEN, expect=(store.LOCKED,))
    return _to_session(session.id, "unlocked" if ok else "cannot-unlock")


@router.post("/sessions/{session_id}/run", dependencies=[Lecturer])
def run(request: Request, conn: Db, session_id: int) -> RedirectResponse:
    """Start the run in a worker process (never twice at once)."""
    session = session_or_404(conn, session_id)
    if session.state == store.OPEN:
        return _to_session(session.id, "lock-first")
    latest = store.latest_run(conn, session.id)
    if latest is not None:
        request.app.state.jobs.check(conn, latest)
    queued = store.start_run(conn, session.id, session.runs)
    if queued is None:
        return _to_session(session.id, "run-live")
    request.app.state.jobs.start(queued.id)
    return _to_session(session.id, "run-started")


@router.get("/sessions/{session_id}/progress", dependencies=[Lecturer])
def progress(request: Request, conn: Db, session_id: int) -> JSONResponse:
    """The latest run's state and progress as JSON (for scripts and the load test)."""
    session = session_or_404(conn, session_id)
    latest = store.latest_run(conn, session.id)
    if latest is None:
        return JSONResponse({"state": "none", "done": 0, "total": session.runs})
    latest = request.app.state.jobs.check(conn, latest)
    return JSONResponse({"id": latest.id, "state": latest.state, "done": latest.done,
                         "total": latest.total, "message": latest.message})


@router.post("/sessions/{session_id}/reveal", dependencies=[Lecturer])
def reveal(conn: Db, session_id: int) -> RedirectResponse:
    """Reveal the latest finished run to the class."""
    session = session_or_404(conn, session_id)
    if store.finished_run(conn, session.id) is None:
        return _to_session(session.id, "run-first")
    store.set_state(conn, session.id, store.REVEALED, expect=(store.LOCKED, store.REVEALED))
    return RedirectResponse(f"/lecturer/sessions/{session.id}/reveal", status_code=303)


@router.post("/sessions/{session_id}/names", dependencies=[Lecturer])
def names(conn: Db, session_id: int, hide: Annotated[str, Form()] = "") -> RedirectResponse:
    """Show or hide names in the projected ranking."""
    session = session_or_404(conn, session_id)
    store.set_hide_names(conn, session.id, hide == "1")
    return RedirectResponse(f"/lecturer/sessions/{session.id}/reveal?notice=names",
                            status_code=303)


@router.get("/sessions/{session_id}/reveal", dependencies=[Lecturer],
            response_class=HTMLResponse)
def reveal_page(request: Request, conn: Db, session_id: int) -> HTMLResponse:
    """The projector page: model against class, scores and ranking, policies, plots."""
    session = session_or_404(conn, session_id)
    finished = store.finished_run(conn, session.id)
    if finished is None or finished.result is None:
        raise Denied(409, "Nothing to reveal yet",
                     "Lock the forecasts and run the model first; the reveal shows the "
                     "latest finished run.")
    return render(request, "reveal.html", {
        "s": session, "notice": _notice(request), **reveal_context(conn, session, finished)})


def reveal_context(conn: Any, session: store.Session, finished: store.Run) -> dict[str, Any]:
    """What the reveal and the debrief show (shared with the printable export)."""
    result = finished.result or {}
    given = store.forecasts(conn, session.id)
    return {
        "run": finished, "result": result, "strips": views.strips(result, given),
        "width": views.STRIP_WIDTH, "ticks": views.TICKS, "viewbox": views.VIEWBOX,
        "ranking": views.ranking(store.scores(conn, finished.id), session.hide_names),
        "questions": [o["name"] for o in result.get("outcomes", [])],
        "policies": views.policy_rows(result), "left_out": result.get("left_out", []),
        "plots": store.plot_names(conn, finished.id),
        "revealed": session.state == store.REVEALED,
    }
