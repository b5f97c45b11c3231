"""The crisis game in the browser, over HTTP: opening a game, teams, moves, deadlines on a
fake clock, the facilitator, bad requests, a restart mid-turn, the debrief and exports."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from helpers import FakeClock

from sim.analyses import play
from sim.web import gamestore

# Pinned dice for the teaching scenario: blue and red teams, 30-day turns, 90 days.
SEED = 4


def _game(classroom: Any, teams=("blue", "red"), minutes="10") -> tuple[Any, int, Any]:
    """A session with a game (not started) and a fake clock; (session, game id, clock)."""
    clock = FakeClock()
    classroom.app.state.game_clock = clock
    session = classroom.create("teaching.yaml", runs=200, seed=SEED)
    r = classroom.lecturer.post(f"/lecturer/sessions/{session.id}/games", data={
        "teams": list(teams), "days": "30", "minutes": minutes, "seed": str(SEED),
        "replication": "16"})
    assert r.status_code == 200, r.text
    game_id = int(re.search(r"/lecturer/games/(\d+)", str(r.url)).group(1))  # type: ignore
    return session, game_id, clock


def _player(classroom: Any, session: Any, name: str, team: str) -> Any:
    client = classroom.join(session.code, name)
    r = client.post("/game/team", data={"team": team})
    assert r.status_code == 200 and "team <strong>" in r.text, r.text
    return client


def _state(classroom: Any, game_id: int) -> dict[str, Any]:
    conn = classroom.db()
    try:
        row = gamestore.game_by_id(conn, game_id)
        assert row is not None
        return row.state
    finally:
        conn.close()


def _control(classroom: Any, game_id: int, what: str) -> Any:
    return classroom.lecturer.post(f"/lecturer/games/{game_id}/control", data={"do": what})


def test_opening_a_game_checks_every_field(classroom):
    """No team, a turn of 0 days, minutes out of range: each named; nothing stored."""
    session = classroom.create("teaching.yaml")
    r = classroom.lecturer.post(f"/lecturer/sessions/{session.id}/games", data={
        "days": "0", "minutes": "999", "seed": "x", "replication": "0"})
    assert r.status_code == 400
    for message in ("Choose at least one actor to be played by a team.",
                    "Days per turn must be between 1 and 366 (got 0).",
                    "Minutes per turn must be between 1 and 240 (got 999).",
                    "The seed must be a whole number"):
        assert message in r.text
    conn = classroom.db()
    assert gamestore.games_of(conn, session.id) == []
    conn.close()


def test_students_and_strangers_cannot_reach_the_facilitator(classroom):
    """Every lecturer game route refuses a student's browser."""
    session, game_id, _ = _game(classroom)
    student = classroom.join(session.code, "Ana")
    for method, path in (("get", f"/lecturer/games/{game_id}"),
                         ("post", f"/lecturer/games/{game_id}/control"),
                         ("post", f"/lecturer/games/{game_id}/inject"),
                         ("get", f"/lecturer/games/{game_id}/briefs"),
                         ("get", f"/lecturer/games/{game_id}/moves.yaml"),
                         ("post", f"/lecturer/games/{game_id}/debrief"),
                         ("get", f"/lecturer/games/{game_id}/debrief"),
                         ("get", f"/lecturer/games/{game_id}/debrief.md"),
                         ("get", f"/lecturer/sessions/{session.id}/games/new"),
                         ("post", f"/lecturer/sessions/{session.id}/games")):
        r = getattr(student, method)(path)
        assert r.status_code == 403 and "Lecturer only" in r.text, path


def test_a_turn_with_moves_a_missed_deadline_and_the_default_policy(classroom):
    """Blue moves, Red does not; at the deadline the turn resolves, Red's page says the
    default policy played it, and Blue's lever has its new value."""
    session, game_id, clock = _game(classroom)
    blue = _player(classroom, session, "Ana", "blue")
    red = _player(classroom, session, "Bo", "red")
    assert "Waiting for the start" in blue.get("/game").text
    assert _control(classroom, game_id, "start").status_code == 200
    page = blue.get("/game").text
    assert "turn 1 of 3" in page and "10:00" in page and "Your move" in page
    r = blue.post("/game/move", data={"team": "blue", "turn": "1",
                                      "lever-blue_offers_talks": "true", "decision": ""})
    assert r.status_code == 200 and "Your team sets blue_offers_talks=true" in r.text
    clock.now += 601
    page = red.get("/game").text
    assert "turn 2 of 3" in page
    assert "Last turn your team did not submit in time" in page
    state = _state(classroom, game_id)
    assert state["turns"][0]["moves"] == [["blue", {"levers": {"blue_offers_talks": True},
                                                    "action": ""}], ["red", None]]
    assert "blue_offers_talks</code> is true" in blue.get("/game").text


def test_bad_moves_get_clear_answers_and_change_nothing(classroom):
    """Acting for another team, a lever of another actor, a second move, a move for a
    turn that has ended: each refused with its reason; the stored game is unchanged."""
    session, game_id, clock = _game(classroom)
    blue = _player(classroom, session, "Ana", "blue")
    _player(classroom, session, "Bo", "red")
    _control(classroom, game_id, "start")
    before = _state(classroom, game_id)
    cases = [
        ({"team": "red", "turn": "1"}, 403, "you are in team Blue; you cannot move for Red"),
        ({"team": "blue", "turn": "1", "lever-red_mobilises": "true"}, 400,
         "lever &#39;red_mobilises&#39; belongs to Red (red), not to Blue"),
        ({"team": "blue", "turn": "1", "decision": "red_escalates"}, 400,
         "action &#39;red_escalates&#39; is not open to Blue (it is Red&#39;s)"),
        ({"team": "blue", "turn": "2"}, 409, "turn 2 has not begun; this is turn 1"),
    ]
    for data, status, message in cases:
        r = blue.post("/game/move", data=data)
        assert r.status_code == status and message in r.text, (data, r.text[-2000:])
        assert _state(classroom, game_id) == before
    assert blue.post("/game/move", data={"team": "blue", "turn": "1"}).status_code == 200
    r = blue.post("/game/move", data={"team": "blue", "turn": "1"})
    assert r.status_code == 409 and "Blue has already submitted its moves for turn 1" in r.text
    clock.now += 601
    r = blue.post("/game/move", data={"team": "blue", "turn": "1"})
    assert r.status_code == 409 and "turn 1 is over" in r.text
    r = blue.post("/game/team", data={"team": "red"})
    assert r.status_code == 409 and "You are already in a team" in r.text


def test_facilitator_injects_pauses_extends_and_ends_turns(classroom):
    """A bad injection is refused with nothing queued; a good one appears in the narrative
    with its note; pause stops the clock and refuses moves; extend adds time."""
    session, game_id, clock = _game(classroom)
    blue = _player(classroom, session, "Ana", "blue")
    _control(classroom, game_id, "start")
    r = classroom.lecturer.post(f"/lecturer/games/{game_id}/inject",
                                data={"action": "nuclear_war", "note": "x"})
    assert r.status_code == 400 and "unknown action &#39;nuclear_war&#39;" in r.text
    r = classroom.lecturer.post(f"/lecturer/games/{game_id}/inject",
                                data={"action": "deep_strike", "note": ""})
    assert r.status_code == 400 and "needs a one-line note" in r.text
    assert _state(classroom, game_id)["injects"] == []
    r = classroom.lecturer.post(f"/lecturer/games/{game_id}/inject", data={
        "action": "deep_strike", "note": "A rogue battery fires", "lever-red_mobilises": "true"})
    assert r.status_code == 200 and "Injection queued" in r.text
    assert _control(classroom, game_id, "pause").status_code == 200
    clock.now += 5000
    r = blue.post("/game/move", data={"team": "blue", "turn": "1"})
    assert r.status_code == 409 and "the game is paused" in r.text
    _control(classroom, game_id, "resume")
    _control(classroom, game_id, "extend-5")
    assert "15:00" in classroom.lecturer.get(f"/lecturer/games/{game_id}").text
    r = _control(classroom, game_id, "end-turn")
    assert "Facilitator: A rogue battery fires (sets red_mobilises=true)" in r.text
    assert "Blue strikes deep inside Red" in blue.get("/game").text
    assert _control(classroom, game_id, "start").status_code == 409


def test_a_game_survives_a_server_restart_mid_turn(classroom, tmp_path):
    """A new app on the same database continues the game: the pending move, the queued
    injection and the deadline are all still there."""
    from fastapi.testclient import TestClient

    from sim.web.app import create_app
    session, game_id, clock = _game(classroom)
    blue = _player(classroom, session, "Ana", "blue")
    _control(classroom, game_id, "start")
    blue.post("/game/move", data={"team": "blue", "turn": "1", "lever-strikes_authorised":
                                  "false"})
    classroom.lecturer.post(f"/lecturer/games/{game_id}/inject",
                            data={"action": "talks_succeed", "note": "Talks in Geneva"})
    saved = _state(classroom, game_id)
    app = create_app(classroom.config)
    app.state.game_clock = clock
    with TestClient(app, follow_redirects=True) as again:
        again.get(f"/lecturer?token={classroom.token()}")
        page = again.get(f"/lecturer/games/{game_id}").text
        assert "submitted</span>: sets strikes_authorised=false" in page
        assert "Talks in Geneva" in page and "10:00" in page
        assert _state(classroom, game_id) == saved
        clock.now += 601
        page = again.get(f"/lecturer/games/{game_id}").text
        assert "Facilitator: Talks in Geneva" in page and "Talks succeed" in page
        assert 'id="game-status">over' in page


@pytest.mark.slow
def test_debrief_exports_and_moves_replay(classroom):
    """The debrief runs in a worker process; its path equals `sim play` replaying the
    exported moves; HTML and Markdown exports; the role briefs page."""
    session, game_id, clock = _game(classroom)
    blue = _player(classroom, session, "Ana", "blue")
    _control(classroom, game_id, "start")
    blue.post("/game/move", data={"team": "blue", "turn": "1", "lever-strikes_authorised":
                                  "false"})
    while 'id="game-status">over' not in classroom.lecturer.get(
            f"/lecturer/games/{game_id}").text:
        _control(classroom, game_id, "end-turn")
    moves = classroom.lecturer.get(f"/lecturer/games/{game_id}/moves.yaml")
    assert moves.status_code == 200 and "- {day: 0, by: blue, set: {strikes_authorised: " \
                                         "false}}" in moves.text
    r = classroom.lecturer.post(f"/lecturer/games/{game_id}/debrief",
                                data={"runs": "300", "continuations": "20"})
    assert r.status_code == 200
    deadline = time.monotonic() + 180
    while "Computing the debrief" in r.text and time.monotonic() < deadline:
        time.sleep(0.5)
        r = classroom.lecturer.get(f"/lecturer/games/{game_id}/debrief")
    assert 'id="path"' in r.text, r.text[-1500:]
    path = [(float(d), int(k)) for d, k in re.findall(r'data-day="([^"]+)" data-rung="(\d+)"',
                                                      r.text)]
    model = play.Game.__init__  # noqa: F841 - replay below with the CLI's own classes
    from sim.spec.loader import load
    teaching = load(classroom.config.scenarios / "teaching.yaml")
    replayed = play.Game(teaching, "blue", SEED, 16, 30)
    import pathlib
    file = pathlib.Path(classroom.config.db).parent / "moves.yaml"
    file.write_text(moves.text, encoding="utf-8")
    script = play.load_moves(file, replayed)
    record = play.run(replayed, lambda s, _p: script.get(s.index, {}))
    assert path == [(day, rung) for day, rung in record.rung_path]
    assert classroom.lecturer.get(f"/lecturer/games/{game_id}/debrief.md").text.startswith(
        "# Debrief: Teaching example")
    page = classroom.lecturer.get(f"/lecturer/games/{game_id}/debrief.html").text
    assert page.startswith("<!DOCTYPE html>") and page.count("data:image/png;base64,") == 3
    briefs = classroom.lecturer.get(f"/lecturer/games/{game_id}/briefs").text
    assert briefs.count('<article class="brief"') == 2


def test_every_route_of_the_game_is_tested():
    """Each route of the game area is requested somewhere in this file or the browser
    test (a parameter in the route matches any value)."""
    from pathlib import Path

    from sim.web import games
    here = Path(__file__).parent
    source = (here / "test_game_web.py").read_text() + (here / "test_game_e2e.py").read_text()
    for route in games.router.routes:
        path = getattr(route, "path", "")
        pattern = re.escape(path)
        pattern = re.sub(r"\\\{[^}]+\\\}", r"[^/\"\\s]+", pattern)
        assert re.search(pattern, source), path
