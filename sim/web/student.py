"""The students' pages: join with the code and a name, read the briefing, forecast and
revise until the lock, then see the model's answers and their own score.

A student sees only their own forecast; others' forecasts appear nowhere before the reveal
and, after it, only as anonymous dots on the lecturer's projected page.
"""

from __future__ import annotations

import functools
import time
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from ..present.briefing import briefing
from . import forms, jobs, store, views
from .db import Migration
from .deps import TEMPLATES, CurrentStudent, Db, Fields, render
from .security import STUDENT_COOKIE

MIGRATIONS: tuple[Migration, ...] = ()
WAIT_REFRESH_SECONDS = 5

router = APIRouter(tags=["student"])


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    """The front page: students join here; the lecturer is told where to go."""
    return render(request, "join.html", {"code": "", "name": "", "errors": {}})


@router.get("/join", response_class=HTMLResponse)
def join_page(request: Request, code: str = "") -> HTMLResponse:
    """The join form (the QR code's address fills in the code)."""
    return render(request, "join.html", {"code": store.normalise_code(code)[:12], "name": "",
                                         "errors": {}})


@router.post("/join", response_class=HTMLResponse)
def join(request: Request, conn: Db, code: Annotated[str, Form()] = "",
         name: Annotated[str, Form()] = "") -> Response:
    """Join a session: a known, open session and a name not yet taken in it."""
    errors: dict[str, str] = {}
    session = store.session_by_code(conn, code) if code.strip() else None
    if not code.strip():
        errors["code"] = "Enter the join code shown on the projector."
    elif session is None:
        errors["code"] = (f"No class has the code '{code.strip()[:12]}'. Check the code on "
                          "the projector (letters and digits, no O/0 or I/1 confusion).")
    elif session.state != store.OPEN:
        errors["code"] = ("This class has locked its forecasts, so it takes no new "
                          "students. Ask the lecturer.")
    checked = forms.name(name)
    if checked.error:
        errors["name"] = checked.error
    student = None
    if not errors and session is not None:
        student = store.add_student(conn, session.id, str(checked.value))
        if student is None:
            errors["name"] = (f"Someone in this class is already called '{checked.value}'. "
                              "Add an initial or a number.")
    if student is None:
        return render(request, "join.html", {"code": code.strip()[:12], "name": name[:80],
                                             "errors": errors}, status_code=400)
    response = RedirectResponse("/class", status_code=303)
    response.set_cookie(STUDENT_COOKIE, student.token, httponly=True, samesite="lax",
                        max_age=60 * 60 * 12)
    return response


def briefing_html(session: store.Session) -> Markup:
    """The session's briefing as HTML: the same for every student, so rendered once."""
    return _briefing_html(session.scenario_text, session.scenario_name, session.levers)


@functools.lru_cache(maxsize=32)
def _briefing_html(text: str, name: str, levers: tuple[str, ...]) -> Markup:
    brief = briefing(jobs.compiled(text, name), levers)
    html = TEMPLATES.get_template("_briefing.html").render(brief=brief)
    return Markup(html)  # noqa: S704 - rendered by our autoescaping template


def _class_page(request: Request, conn: Any, student: store.Student,
                typed: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                status_code: int = 200) -> HTMLResponse:
    session = store.session_by_id(conn, student.session_id)
    assert session is not None
    model = jobs.session_model(session)
    saved = store.forecast_of(conn, student.id)
    shown = typed if typed is not None else views.typed_from(saved)
    outcomes, levers = views.forecast_fields(model, session, shown, errors or {})
    context: dict[str, Any] = {
        "s": session, "student": student, "brief": briefing(model, session.levers),
        "briefing_html": briefing_html(session),
        "outcomes": outcomes, "levers": levers, "errors": errors or {},
        "reasoning": shown.get("reasoning", ""), "saved": saved,
        "saved_at": time.strftime("%H:%M:%S", time.localtime(saved.updated_at))
        if saved else "", "just_saved": request.query_params.get("saved") == "1",
        "refresh": WAIT_REFRESH_SECONDS if session.state == store.LOCKED else 0,
        "max_reasoning": forms.REASONING_MAX, "own": None, "result": None,
    }
    if session.state == store.REVEALED:
        finished = store.finished_run(conn, session.id)
        if finished is not None and finished.result is not None:
            context["result"] = finished.result
            context["own"] = views.own_score(finished.result, saved,
                                             store.scores(conn, finished.id), student.id)
            context["answers"] = views.answers(finished.result)
            context["run_id"] = finished.id
            context["plots"] = store.plot_names(conn, finished.id)
    return render(request, "student_class.html", context, status_code=status_code)


@router.get("/class", response_class=HTMLResponse)
def class_page(request: Request, conn: Db, student: CurrentStudent) -> HTMLResponse:
    """Briefing and forecast form while open; waiting while locked; results after."""
    return _class_page(request, conn, student)


@router.post("/class/forecast", response_class=HTMLResponse)
def submit(request: Request, conn: Db, student: CurrentStudent, form: Fields) -> Response:
    """Save (or revise) the student's forecast; after the lock nothing changes and the
    page says so; bad values come back with the student's typing intact."""
    session = store.session_by_id(conn, student.session_id)
    assert session is not None
    model = jobs.session_model(session)
    fields = {k: str(v) for k, v in form.items()}
    parsed = forms.forecast(fields, model, session.outcomes, session.levers)
    if session.state != store.OPEN:
        return _class_page(request, conn, student, parsed.typed, {
            "form": "Forecasts are locked: this change was not saved. Your last saved "
                    "forecast stands."}, 409)
    if parsed.errors:
        return _class_page(request, conn, student, parsed.typed, parsed.errors, 400)
    ok = store.save_forecast(conn, session.id, store.Forecast(
        student.id, parsed.probabilities, parsed.setting, parsed.reasoning, time.time()))
    if not ok:  # locked between the check and the write
        return _class_page(request, conn, student, parsed.typed, {
            "form": "Forecasts were locked just now: this change was not saved."}, 409)
    return RedirectResponse("/class?saved=1", status_code=303)
