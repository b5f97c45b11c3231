"""The crisis game in the browser: the lecturer opens a game in a class session, students
join a team, every team reads its own briefing and submits moves before each turn's
deadline, the facilitator steers, and the debrief compares the game with the model.

The game itself is :class:`sim.analyses.game.CrisisGame` (the same engine steps as
`sim play`); this module only reads forms, loads and saves the game (``gamestore``) and
renders pages. Every request first lets the game resolve a turn whose deadline has passed,
so nothing needs to run in the background between requests. A student sees only their own
team's briefing and can move only for their own team.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NamedTuple

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from ..analyses.debrief import CONTINUATIONS
from ..analyses.game import CrisisGame, GameError, Setup, moves_yaml
from ..analyses.moves import FACILITATOR, MoveError, decisions, fmt_value, levers_of, start_only
from ..present.briefs import briefs_page, cites
from ..spec.model import Model
from . import forms, gamestore, jobs, store
from .db import transaction
from .deps import Config, CurrentStudent, Db, Denied, Fields, Lecturer, render, session_or_404
from .gamejobs import MOVES_FILE, DebriefJobs

MIGRATIONS = gamestore.MIGRATIONS
REFRESH_SECONDS = 5
DEBRIEF_RUNS = 10_000
DEFAULT_TURN_DAYS = 30
DEFAULT_TURN_MINUTES = 10

router = APIRouter(tags=["game"])

NOTICES = {
    "created": "Game created. Students join a team from their class page (/game); start "
               "the first turn when the teams are ready.",
    "started": "The first turn is open: its deadline runs from now.",
    "paused": "Paused: the clock has stopped and teams cannot submit.",
    "resumed": "Resumed: the clock runs again with the time that was left.",
    "extended": "The deadline was extended.",
    "ended": "The turn was ended; teams that had not submitted got the default policy.",
    "injected": "Injection queued: it happens, with its note, when this turn resolves.",
    "debrief": "The debrief is being computed; this page shows its progress.",
    "debrief-live": "The debrief is already being computed.",
}


# -- helpers -----------------------------------------------------------------------------------
def clock(request: Request) -> Callable[[], float]:
    """Real time, or the test's fake clock (``app.state.game_clock``)."""
    found: Callable[[], float] = getattr(request.app.state, "game_clock", time.time)
    return found


def debrief_jobs(request: Request) -> DebriefJobs:
    """The server's debrief processes."""
    state = request.app.state
    if not hasattr(state, "game_debriefs"):
        state.game_debriefs = DebriefJobs()
    found: DebriefJobs = state.game_debriefs
    return found


class Loaded(NamedTuple):
    """A game rebuilt from its row, with its class session and model."""

    row: gamestore.GameRow
    session: store.Session
    model: Model
    game: CrisisGame


def _load(request: Request, conn: sqlite3.Connection, game_id: int) -> Loaded:
    row = gamestore.game_by_id(conn, game_id)
    if row is None:
        raise Denied(404, "No such game", f"There is no game number {game_id}.")
    session = session_or_404(conn, row.session_id)
    model = jobs.session_model(session)
    return Loaded(row, session, model, CrisisGame.restore(model, row.state, clock(request)))


@contextmanager
def _changing(request: Request, conn: sqlite3.Connection, game_id: int) -> Iterator[Loaded]:
    """Load, change and save a game in one transaction (concurrent writers queue)."""
    with transaction(conn):
        loaded = _load(request, conn, game_id)
        before = loaded.game.state()
        yield loaded
        if loaded.game.state() != before:
            gamestore.save_state(conn, game_id, loaded.game.state())


def _ticked(request: Request, conn: sqlite3.Connection, game_id: int) -> Loaded:
    """The game with any turn whose deadline has passed resolved (and saved)."""
    with _changing(request, conn, game_id) as loaded:
        loaded.game.tick()
    return loaded


def _int(checked: forms.Checked) -> int:
    """The value of a checked whole number (call only when it has no error)."""
    assert isinstance(checked.value, int), checked
    return checked.value


def _clock_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    whole = max(0, math.ceil(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


class LeverField(NamedTuple):
    """A lever as a form field."""

    id: str
    field: str
    value: str
    is_bool: bool
    range: str
    settable: bool
    description: str
    source: str
    typed: str


def _lever_fields(model: Model, actor: str, values: Mapping[str, Any], first: bool,
                  typed: Mapping[str, str], prefix: str) -> list[LeverField]:
    fixed = start_only(model)
    out = []
    for lv in levers_of(model, actor):
        rng = "on/off" if lv.is_bool else (f"{lv.low:g} to {lv.high:g}" if lv.low is not None
                                           and lv.high is not None else "a number")
        out.append(LeverField(lv.id, f"{prefix}{lv.id}", fmt_value(values[lv.id]), lv.is_bool,
                              rng + (f" {lv.unit}" if lv.unit and not lv.is_bool else ""),
                              first or lv.id not in fixed, lv.description, lv.source,
                              typed.get(f"{prefix}{lv.id}", "")))
    return out


def _typed_levers(form: Mapping[str, Any], prefix: str) -> dict[str, str]:
    """Lever fields that were filled in (an empty field keeps the lever as it is)."""
    return {key[len(prefix):]: str(value).strip() for key, value in form.items()
            if key.startswith(prefix) and str(value).strip()}


# -- lecturer: open a game -----------------------------------------------------------------------
@router.get("/lecturer/sessions/{session_id}/games/new", dependencies=[Lecturer],
            response_class=HTMLResponse)
def new_game(request: Request, conn: Db, session_id: int) -> HTMLResponse:
    """The form that opens a game: teams, turn length, deadline, dice."""
    session = session_or_404(conn, session_id)
    return _new_page(request, conn, session, {}, {})


def _new_page(request: Request, conn: sqlite3.Connection, session: store.Session,
              typed: Mapping[str, Any], errors: Mapping[str, str], status_code: int = 200
              ) -> HTMLResponse:
    games = [(g.id, len(g.state["turns"])) for g in gamestore.games_of(conn, session.id)]
    model = jobs.session_model(session)
    chosen = set(typed.get("teams", ()))
    actors = [(a.id, a.name, len(levers_of(model, a.id)), len(decisions(model, a.id)),
               a.id in chosen) for a in model.actors]
    return render(request, "game_new.html", {
        "s": session, "actors": actors, "errors": errors,
        "days": typed.get("days", str(DEFAULT_TURN_DAYS)),
        "minutes": typed.get("minutes", str(DEFAULT_TURN_MINUTES)),
        "seed": typed.get("seed", str(session.seed)),
        "replication": typed.get("replication", "0"), "games": games,
    }, status_code=status_code)


@router.post("/lecturer/sessions/{session_id}/games", dependencies=[Lecturer],
             response_class=HTMLResponse)
def create_game(request: Request, conn: Db, form: Fields, session_id: int) -> Response:
    """Open a game: every field checked, one message each; nothing stored on error."""
    session = session_or_404(conn, session_id)
    model = jobs.session_model(session)
    teams = [str(t) for t in form.getlist("teams")]
    typed: dict[str, Any] = {k: str(form.get(k, "")) for k in ("days", "minutes", "seed",
                                                               "replication")}
    typed["teams"] = teams
    checked = {"days": forms.whole_number(typed["days"], "Days per turn", 1, 366),
               "minutes": forms.whole_number(typed["minutes"], "Minutes per turn", 1, 240),
               "seed": forms.seed(typed["seed"]),
               "replication": forms.whole_number(typed["replication"], "Replication", 0,
                                                 1_000_000)}
    errors = {k: str(c.error) for k, c in checked.items() if c.error}
    if not teams:
        errors["teams"] = "Choose at least one actor to be played by a team."
    if not errors:
        setup = Setup(tuple(teams), _int(checked["seed"]),
                      _int(checked["replication"]), float(_int(checked["days"])),
                      60.0 * _int(checked["minutes"]))
        try:
            game = CrisisGame(model, setup, clock(request))
        except GameError as exc:
            errors["teams"] = str(exc)
    if errors:
        return _new_page(request, conn, session, typed, errors, 400)
    row = gamestore.create_game(conn, session.id, game.state())
    return RedirectResponse(f"/lecturer/games/{row.id}?notice=created", status_code=303)


# -- lecturer: the facilitator's page --------------------------------------------------------------
@router.get("/lecturer/games/{game_id}", dependencies=[Lecturer], response_class=HTMLResponse)
def facilitator(request: Request, conn: Db, game_id: int) -> HTMLResponse:
    """Every team's status and briefing, the whole narrative, the controls and injections."""
    return _facilitator_page(request, conn, _ticked(request, conn, game_id))


def _facilitator_page(request: Request, conn: sqlite3.Connection, loaded: Loaded,
                      errors: Mapping[str, str] | None = None, typed: Mapping[str, str] | None
                      = None, status_code: int = 200) -> HTMLResponse:
    game, model = loaded.game, loaded.model
    people = gamestore.members(conn, loaded.row.id)
    submitted = game.submitted()
    teams = []
    for team in game.setup.teams:
        brief = game.briefing(team)
        teams.append((team, game.name(team), [m.name for m in people if m.team == team],
                       brief.submitted.words(game.model) if submitted[team] and
                       brief.submitted else "", brief.lines))
    debrief_row = gamestore.debrief_of(conn, loaded.row.id)
    if debrief_row is not None:
        debrief_row = debrief_jobs(request).check(conn, debrief_row)
    first = game.index == 0
    return render(request, "game_facilitator.html", {
        "g": loaded.row, "s": loaded.session, "game": game, "model": model, "teams": teams,
        "date": game.briefing(game.setup.teams[0]).date.isoformat(),
        "by_model": [game.name(a) for a in game.model_played()],
        "narrative": game.narrative(), "left": _clock_text(game.remaining()),
        "remaining": game.remaining(), "status": game.status,
        "notice": NOTICES.get(request.query_params.get("notice", ""), ""),
        "errors": errors or {}, "typed": typed or {},
        "actions": [(a.id, f"{a.name} ({game.name(a.actor)})") for a, _ in
                    decisions(model, FACILITATOR)],
        "levers": _lever_fields(game.model, FACILITATOR, game.board.rep.values(), first,
                                typed or {}, "lever-"),
        "pending": game.injects, "debrief": debrief_row,
        "refresh": REFRESH_SECONDS if game.status == "open" and not errors else 0,
    }, status_code=status_code)


CONTROLS: dict[str, tuple[Callable[[CrisisGame], None], str]] = {
    "start": (CrisisGame.start, "started"),
    "pause": (CrisisGame.pause, "paused"),
    "resume": (CrisisGame.resume, "resumed"),
    "end-turn": (CrisisGame.end_turn, "ended"),
    "extend-1": (lambda g: g.extend(60.0), "extended"),
    "extend-5": (lambda g: g.extend(300.0), "extended"),
}


@router.post("/lecturer/games/{game_id}/control", dependencies=[Lecturer],
             response_class=HTMLResponse)
def control(request: Request, conn: Db, form: Fields, game_id: int) -> Response:
    """Start, pause, resume, extend the deadline, or end the turn now."""
    what = str(form.get("do", ""))
    if what not in CONTROLS:
        raise Denied(400, "Unknown control", f"There is no game control '{what[:40]}'.")
    act, notice = CONTROLS[what]
    try:
        with _changing(request, conn, game_id) as loaded:
            loaded.game.tick()
            act(loaded.game)
    except GameError as exc:
        loaded = _ticked(request, conn, game_id)
        return _facilitator_page(request, conn, loaded, {"control": str(exc)}, None, 409)
    return RedirectResponse(f"/lecturer/games/{game_id}?notice={notice}", status_code=303)


@router.post("/lecturer/games/{game_id}/inject", dependencies=[Lecturer],
             response_class=HTMLResponse)
def inject(request: Request, conn: Db, form: Fields, game_id: int) -> Response:
    """Queue an injection (an action and/or lever changes, with a note); refused with the
    reason, and nothing queued, when it cannot happen."""
    typed = {k: str(v) for k, v in form.items()}
    try:
        with _changing(request, conn, game_id) as loaded:
            loaded.game.tick()
            loaded.game.inject(typed.get("note", ""), typed.get("action", ""),
                               _typed_levers(typed, "lever-"))
    except (GameError, MoveError) as exc:
        loaded = _ticked(request, conn, game_id)
        return _facilitator_page(request, conn, loaded, {"inject": str(exc)}, typed, 400)
    return RedirectResponse(f"/lecturer/games/{game_id}?notice=injected", status_code=303)


@router.get("/lecturer/games/{game_id}/briefs", dependencies=[Lecturer],
            response_class=HTMLResponse)
def role_briefs(request: Request, conn: Db, game_id: int) -> HTMLResponse:
    """A printable one-page brief per actor of the scenario."""
    loaded = _load(request, conn, game_id)
    return HTMLResponse(briefs_page(loaded.model, [a.id for a in loaded.model.actors],
                                    loaded.game.setup.every))


@router.get("/lecturer/games/{game_id}/moves.yaml", dependencies=[Lecturer])
def export_moves(request: Request, conn: Db, game_id: int) -> Response:
    """The game's moves as a file that `sim play --moves` replays exactly."""
    loaded = _ticked(request, conn, game_id)
    return PlainTextResponse(moves_yaml(loaded.game, MOVES_FILE), media_type="text/yaml",
                             headers={"Content-Disposition":
                                      f'attachment; filename="{MOVES_FILE}"'})


# -- lecturer: the debrief -------------------------------------------------------------------------
@router.post("/lecturer/games/{game_id}/debrief", dependencies=[Lecturer],
             response_class=HTMLResponse)
def start_debrief(request: Request, conn: Db, config: Config, form: Fields,
                  game_id: int) -> Response:
    """Compute the debrief in a worker process (runs and continuations from the form)."""
    loaded = _ticked(request, conn, game_id)
    runs = forms.whole_number(str(form.get("runs", DEBRIEF_RUNS)), "Runs", 100, 100_000)
    cont = forms.whole_number(str(form.get("continuations", CONTINUATIONS)),
                              "Continuations per turn", 10, 5_000)
    problem = runs.error or cont.error or (
        "" if loaded.game.turns else "Play at least one turn before the debrief.")
    if problem:
        return _facilitator_page(request, conn, loaded, {"debrief": str(problem)}, None, 400)
    with transaction(conn):
        fresh = gamestore.start_debrief(conn, game_id)
    if not fresh:
        return RedirectResponse(f"/lecturer/games/{game_id}/debrief?notice=debrief-live",
                                status_code=303)
    debrief_jobs(request).start(config.db, game_id, _int(runs), _int(cont), config.job_nice)
    return RedirectResponse(f"/lecturer/games/{game_id}/debrief?notice=debrief",
                            status_code=303)


def _debrief_row(request: Request, conn: sqlite3.Connection, game_id: int
                 ) -> gamestore.DebriefRow:
    row = gamestore.debrief_of(conn, game_id)
    if row is None:
        raise Denied(404, "No debrief yet", "Start the debrief from the game's page first.")
    return debrief_jobs(request).check(conn, row)


@router.get("/lecturer/games/{game_id}/debrief", dependencies=[Lecturer],
            response_class=HTMLResponse)
def debrief_page(request: Request, conn: Db, game_id: int) -> HTMLResponse:
    """The projector-ready debrief (its progress while it is computed)."""
    loaded = _load(request, conn, game_id)
    row = _debrief_row(request, conn, game_id)
    percent = min(100, math.floor(100 * row.done / row.total)) if row.total else 0
    return render(request, "game_debrief.html", {
        "g": loaded.row, "s": loaded.session, "d": row, "percent": percent,
        "notice": NOTICES.get(request.query_params.get("notice", ""), "")
        if row.state == gamestore.RUNNING else "",
        "refresh": REFRESH_SECONDS if row.state == gamestore.RUNNING else 0,
    })


@router.get("/lecturer/games/{game_id}/debrief.{kind}", dependencies=[Lecturer])
def debrief_export(request: Request, conn: Db, game_id: int, kind: str) -> Response:
    """The finished debrief as a printable HTML page or as Markdown."""
    row = _debrief_row(request, conn, game_id)
    if kind not in ("html", "md"):
        raise Denied(404, "No such export", "The debrief exports as .html or .md.")
    if row.state != gamestore.DONE or row.page is None or row.markdown is None:
        raise Denied(409, "The debrief is not ready", "Wait until the debrief has finished.")
    if kind == "html":
        return HTMLResponse(row.page)
    return PlainTextResponse(row.markdown, media_type="text/markdown", headers={
        "Content-Disposition": f'attachment; filename="game-{game_id}-debrief.md"'})


# -- students ------------------------------------------------------------------------------------
def _student_game(conn: sqlite3.Connection, student: store.Student) -> int | None:
    row = gamestore.latest_game(conn, student.session_id)
    return row.id if row is not None else None


@router.get("/game", response_class=HTMLResponse)
def team_page(request: Request, conn: Db, student: CurrentStudent) -> HTMLResponse:
    """Choose a team, then your team's briefing and move form (only yours)."""
    game_id = _student_game(conn, student)
    if game_id is None:
        return render(request, "game_team.html", {"student": student, "loaded": None,
                                                  "refresh": REFRESH_SECONDS * 2})
    return _team_page(request, conn, student, _ticked(request, conn, game_id))


def _team_page(request: Request, conn: sqlite3.Connection, student: store.Student,
               loaded: Loaded, errors: Mapping[str, str] | None = None,
               typed: Mapping[str, str] | None = None, status_code: int = 200) -> HTMLResponse:
    game = loaded.game
    team = gamestore.team_of(conn, loaded.row.id, student.id)
    context: dict[str, Any] = {
        "student": student, "loaded": loaded, "game": game, "team": team,
        "errors": errors or {}, "status": game.status, "left": _clock_text(game.remaining()),
        "remaining": game.remaining(), "by_model": [game.name(a) for a in game.model_played()],
        "teams": [(t, game.name(t), sum(1 for m in gamestore.members(conn, loaded.row.id)
                                        if m.team == t)) for t in game.setup.teams],
        "refresh": 0,
    }
    if team is not None:
        brief = game.briefing(team)
        rungs = game.model.rungs
        context.update(brief=brief, decision=(typed or {}).get("decision", ""),
                       decisions=[(a.id, a.name, rungs[a.rung].name if a.rung is not None
                                   else "", cites(source), source)
                                  for a, source in brief.decisions],
                       levers=_lever_fields(game.model, team, game.board.rep.values(),
                                            game.index == 0, typed or {}, "lever-"),
                       words=brief.submitted.words(game.model) if brief.submitted else "")
        waiting = game.status in ("waiting", "paused") or brief.submitted is not None
        context["refresh"] = REFRESH_SECONDS if waiting and not errors else 0
    return render(request, "game_team.html", context, status_code=status_code)


@router.post("/game/team", response_class=HTMLResponse)
def join_team(request: Request, conn: Db, student: CurrentStudent, form: Fields) -> Response:
    """Join a team of the class's game (once; teams are for the whole game)."""
    game_id = _student_game(conn, student)
    if game_id is None:
        raise Denied(404, "No game yet", "The lecturer has not opened a game in this class.")
    loaded = _ticked(request, conn, game_id)
    team = str(form.get("team", ""))
    if team not in loaded.game.setup.teams:
        return _team_page(request, conn, student, loaded,
                          {"team": "Choose one of the teams listed."}, None, 400)
    if loaded.game.over:
        return _team_page(request, conn, student, loaded,
                          {"team": "The game is over; teams are closed."}, None, 409)
    with transaction(conn):
        joined = gamestore.join_team(conn, game_id, student.id, team)
    if not joined:
        return _team_page(request, conn, student, loaded, {
            "form": "You are already in a team; teams are for the whole game."}, None, 409)
    return RedirectResponse("/game", status_code=303)


@router.post("/game/move", response_class=HTMLResponse)
def submit_move(request: Request, conn: Db, student: CurrentStudent, form: Fields) -> Response:
    """Submit your team's move for this turn. Acting for another team, a second move, a
    move after the deadline or one not open to your actor: refused, nothing changes."""
    game_id = _student_game(conn, student)
    if game_id is None:
        raise Denied(404, "No game yet", "The lecturer has not opened a game in this class.")
    typed = {k: str(v) for k, v in form.items()}
    mine = gamestore.team_of(conn, game_id, student.id)
    if mine is None:
        raise Denied(403, "Join a team first", "Choose your team on the game page first.")
    turn = forms.whole_number(typed.get("turn", ""), "Turn", 1, 10_000)
    try:
        with _changing(request, conn, game_id) as loaded:
            loaded.game.submit(typed.get("team", ""), _typed_levers(typed, "lever-"),
                               typed.get("decision", ""), sender=mine,
                               turn=_int(turn) - 1 if turn.value is not None else None)
    except GameError as exc:
        return _team_page(request, conn, student, _ticked(request, conn, game_id),
                          {"form": str(exc)}, typed, 409 if typed.get("team") == mine
                          else 403)
    except MoveError as exc:
        return _team_page(request, conn, student, _ticked(request, conn, game_id),
                          {"form": str(exc)}, typed, 400)
    return RedirectResponse("/game", status_code=303)
