"""HTTP tests of the classroom app: every route, the bad inputs and the safety rules."""

from __future__ import annotations

import csv
import html
import io
import re
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import SCENARIOS, Classroom

from sim import api
from sim.present.numbers import percent
from sim.results.scoring import brier
from sim.results.stats import wilson
from sim.web import store

TEACHING = (SCENARIOS / "teaching.yaml").read_text()
HORIZON_LINE = 1 + TEACHING.splitlines().index("  horizon_days: 90")


def errors_of(page: str) -> list[str]:
    """The field error messages of a page, as a reader sees them."""
    return [html.unescape(e) for e in re.findall(r'class="error">([^<]*)<', page)]


def text(response: Any) -> str:
    """A page's HTML with entities decoded (quotes in messages are escaped)."""
    return html.unescape(response.text)


def forecast(client: Any, war: str = "0.5", settled: str = "0.2", **extra: str) -> Any:
    return client.post("/class/forecast", data={"p_war": war, "p_settled": settled, **extra})


# -- lecturer sign-in and who may do what -----------------------------------------------------
LECTURER_GETS = ["/lecturer", "/lecturer/sessions/{sid}", "/lecturer/sessions/{sid}/progress",
                 "/lecturer/sessions/{sid}/reveal", "/lecturer/sessions/{sid}/export.csv",
                 "/lecturer/sessions/{sid}/debrief"]
LECTURER_POSTS = ["/lecturer/sessions", "/lecturer/sessions/{sid}/setup",
                  "/lecturer/sessions/{sid}/lock", "/lecturer/sessions/{sid}/unlock",
                  "/lecturer/sessions/{sid}/run", "/lecturer/sessions/{sid}/reveal",
                  "/lecturer/sessions/{sid}/names"]


def test_lecturer_routes_refuse_strangers_and_students(classroom: Classroom):
    """Without the lecturer's cookie (a stranger, a student, a wrong token) every lecturer
    page and action answers 403 with directions, and nothing changes."""
    session = classroom.create()
    student = classroom.join(session.code, "Ada")
    stranger = classroom.client()
    forged = classroom.client()
    forged.cookies.set("sim_lecturer", "not-the-token")
    for client in (stranger, student, forged):
        for path in LECTURER_GETS:
            r = client.get(path.format(sid=session.id))
            assert r.status_code == 403, path
            assert "lecturer address printed in the terminal" in r.text
        for path in LECTURER_POSTS:
            r = client.post(path.format(sid=session.id), data={"scenario": "teaching.yaml"})
            assert r.status_code == 403, path
    conn = classroom.db()
    assert store.session_by_id(conn, session.id).state == store.OPEN  # type: ignore[union-attr]
    assert len(store.all_sessions(conn)) == 1
    assert store.latest_run(conn, session.id) is None
    conn.close()


def test_wrong_token_is_refused_and_right_token_sets_a_strict_cookie(classroom: Classroom):
    client = classroom.client()
    r = client.get("/lecturer?token=guess")
    assert r.status_code == 403 and "Wrong lecturer token" in r.text
    r = client.get(f"/lecturer?token={classroom.token()}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/lecturer"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert client.get("/lecturer").status_code == 200


def test_unknown_session_and_page_say_so(classroom: Classroom):
    r = classroom.lecturer.get("/lecturer/sessions/999")
    assert r.status_code == 404 and "no class session number 999" in r.text
    assert classroom.lecturer.get("/lecturer/sessions/abc").status_code == 400
    r = classroom.client().get("/nowhere")
    assert r.status_code == 404 and "Students start at /join" in r.text


# -- creating a session ----------------------------------------------------------------------
def test_lecturer_home_lists_shipped_scenarios_and_sessions(classroom: Classroom):
    classroom.create()
    page = classroom.lecturer.get("/lecturer").text
    for name in ("atacms.yaml", "teaching.yaml", "markov.yaml"):
        assert f'<option value="{name}">' in page
    assert "Teaching example" in page


def test_create_from_an_uploaded_file(classroom: Classroom):
    r = classroom.lecturer.post("/lecturer/sessions", data={"title": "Week 3"},
                                files={"upload": ("mine.yaml", TEACHING.encode(), "text/yaml")})
    assert r.status_code == 200 and "Week 3" in r.text
    conn = classroom.db()
    (session,) = store.all_sessions(conn)
    conn.close()
    assert session.scenario_name == "mine.yaml" and session.scenario_text == TEACHING
    assert session.outcomes == ("war", "settled")
    assert session.levers == ("strikes_authorised", "blue_offers_talks", "red_mobilises")
    assert re.fullmatch(r"[A-HJKMNP-Z2-9]{6}", session.code)


@pytest.mark.parametrize(("content", "expected"), [
    (TEACHING.replace("horizon_days: 90", "horizon_days: -5"),
     rf"mine\.yaml:{HORIZON_LINE}: 'scenario\.horizon_days' must be > 0 \(got -5\)"),
    (TEACHING.replace("  red: {name: Red}\n", "  red: {name: Red}\n  red: {name: Again}\n"),
     r"mine\.yaml:\d+: .*duplicate"),
    ("a: &a [1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,"
     "*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
     "f: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n", r"more than 100000 values"),
    ("scenario: !!python/object/apply:os.system ['echo hacked']\n", r"mine\.yaml:1"),
    ("[" * 200 + "]" * 200, r"nesting deeper than 40 levels"),
    ("\xff\xfe not text", r"not UTF-8 text"),
    ("   \n", r"the file is empty"),
])
def test_bad_uploads_show_every_problem_and_create_nothing(classroom: Classroom, content: str,
                                                          expected: str):
    data = content.encode("latin-1") if content.startswith("\xff") else content.encode()
    r = classroom.lecturer.post("/lecturer/sessions",
                                files={"upload": ("mine.yaml", data, "text/yaml")})
    assert r.status_code == 400
    assert "The scenario was not accepted" in r.text
    assert re.search(expected, html.unescape(r.text)), r.text[-3000:]
    conn = classroom.db()
    assert store.all_sessions(conn) == []
    conn.close()


def test_oversized_uploads_are_refused(classroom: Classroom):
    """Over the loader's 2 MB: refused by the form handler; over the body limit: 413 before
    anything parses it."""
    big = b"# padding\n" * 210_000
    r = classroom.lecturer.post("/lecturer/sessions",
                                files={"upload": ("big.yaml", big, "text/yaml")})
    assert r.status_code == 400 and "larger than 2,000,000 bytes" in r.text
    r = classroom.lecturer.post("/lecturer/sessions",
                                files={"upload": ("huge.yaml", big * 2, "text/yaml")})
    assert r.status_code == 413 and "nothing was saved" in r.text


def test_a_shipped_name_outside_the_list_is_refused(classroom: Classroom):
    for name in ("../pyproject.toml", "/etc/passwd", "", "nope.yaml"):
        r = classroom.lecturer.post("/lecturer/sessions", data={"scenario": name})
        assert r.status_code == 400 and "Choose a shipped scenario" in r.text


def test_setup_checks_every_field(classroom: Classroom):
    session = classroom.create()
    r = classroom.lecturer.post(f"/lecturer/sessions/{session.id}/setup", data={
        "outcomes": ["ghost"], "levers": ["nope"], "runs": "5", "seed": "-1"})
    assert r.status_code == 400
    errs = " ".join(errors_of(r.text))
    assert "Unknown outcomes: ghost" in errs and "Unknown levers: nope" in errs
    assert "Runs must be between 100 and 100,000 (got 5)" in errs
    assert "The seed must be between 0" in errs
    r = classroom.lecturer.post(f"/lecturer/sessions/{session.id}/setup",
                                data={"runs": "abc", "seed": "1"})
    assert "Pick at least 1 outcomes." in r.text and "Runs must be a whole number" in r.text
    r = classroom.lecturer.post(f"/lecturer/sessions/{session.id}/setup", data={
        "outcomes": ["settled"], "runs": "1,000", "seed": "9"})
    assert r.status_code == 200 and "Questions saved." in r.text
    conn = classroom.db()
    saved = store.session_by_id(conn, session.id)
    conn.close()
    assert saved is not None
    assert (saved.outcomes, saved.levers, saved.runs, saved.seed) == (("settled",), (), 1000, 9)


def test_questions_are_fixed_after_the_first_forecast(classroom: Classroom):
    session = classroom.create()
    ada = classroom.join(session.code, "Ada")
    assert forecast(ada).status_code == 200
    r = classroom.lecturer.post(f"/lecturer/sessions/{session.id}/setup", data={
        "outcomes": ["war"], "runs": "300", "seed": "1"})
    assert "fixed once a student has forecast" in r.text
    conn = classroom.db()
    assert store.session_by_id(conn, session.id).outcomes == ("war", "settled")  # type: ignore
    conn.close()


# -- joining -------------------------------------------------------------------------------
def test_front_page_and_join_page(classroom: Classroom):
    client = classroom.client()
    assert 'action="/join"' in client.get("/").text
    page = client.get("/join?code=ab-c d9").text
    assert 'value="ABCD9"' in page


@pytest.mark.parametrize(("code", "name", "field", "message"), [
    ("", "Ada", "code", "Enter the join code"),
    ("ZZZZZZ", "Ada", "code", "No class has the code 'ZZZZZZ'"),
    ("{code}", "", "name", "Enter a display name"),
    ("{code}", "   \t ", "name", "Enter a display name"),
    ("{code}", "x" * 41, "name", "at most 40 characters; yours has 41"),
    ("{code}", " bob  ", "name", "already called 'bob'"),
])
def test_join_refuses_bad_input_with_a_clear_message(classroom: Classroom, code: str, name: str,
                                                     field: str, message: str):
    session = classroom.create()
    classroom.join(session.code, "Bob")
    client = classroom.client()
    r = client.post("/join", data={"code": code.format(code=session.code), "name": name})
    assert r.status_code == 400
    assert f'id="{field}-error"' in r.text and message in text(r)
    assert "sim_student" not in client.cookies


def test_join_is_forgiving_about_case_spaces_and_controls(classroom: Classroom):
    session = classroom.create()
    client = classroom.client()
    r = client.post("/join", data={"code": f" {session.code.lower()[:3]} {session.code[3:]} ",
                                   "name": "  Grace \x00 Hopper "})
    assert r.status_code == 200 and "You are <strong>Grace Hopper</strong>" in r.text


def test_no_joining_after_the_lock(classroom: Classroom):
    session = classroom.create()
    classroom.lecturer.post(f"/lecturer/sessions/{session.id}/lock")
    r = classroom.client().post("/join", data={"code": session.code, "name": "Late"})
    assert r.status_code == 400 and "locked its forecasts" in r.text


def test_class_page_needs_a_joined_browser(classroom: Classroom):
    client = classroom.client()
    assert client.get("/class").status_code == 403
    client.cookies.set("sim_student", "forged")
    r = client.get("/class")
    assert r.status_code == 403 and "has not joined a class" in r.text
    assert client.post("/class/forecast", data={"p_war": "0.1"}).status_code == 403


# -- briefing and forecasts -------------------------------------------------------------------
def test_briefing_shows_situation_actors_levers_sources_ladder_and_note(classroom: Classroom):
    session = classroom.create("atacms.yaml")
    page = text(classroom.join(session.code, "Ada").get("/class"))
    for needle in ("The situation", "Who is involved", "North Korea", "atacms_authorised",
                 "[reuters_atacms]", "The escalation ladder", "(where it starts)",
                 "teaching and exploration model, not a forecast"):
        assert needle in page, needle
    assert page.count('class="field"') >= len(session.outcomes)


def test_forecast_saves_and_revises_in_place(classroom: Classroom):
    session = classroom.create()
    ada = classroom.join(session.code, "Ada")
    r = forecast(ada, "0,3", "40%", lever_strikes_authorised="false", reasoning="Calm down.")
    assert r.status_code == 200 and "Saved at" in r.text
    assert 'value="0.3"' in r.text and 'value="0.4"' in r.text
    r = forecast(ada, "0.35", "0.45")  # a double submit or a revision: one row, the latest
    assert r.status_code == 200
    conn = classroom.db()
    rows = conn.execute("SELECT COUNT(*) FROM forecasts").fetchone()[0]
    saved = store.forecast_of(conn, 1)
    conn.close()
    assert rows == 1 and saved is not None
    assert saved.probabilities == {"war": 0.35, "settled": 0.45}
    assert saved.setting == {} and saved.reasoning == ""


@pytest.mark.parametrize(("war", "extra", "message"), [
    ("1.5", {}, "A probability must be between 0 and 1 (1.5% is 0.015)."),
    ("-0.1", {}, "A probability must be between 0 and 1."),
    ("30", {}, "(30% is 0.3)"),
    ("nan", {}, "A probability must be between 0 and 1."),
    ("inf", {}, "A probability must be between 0 and 1."),
    ("lots", {}, "'lots' is not a number"),
    ("", {}, "Enter a probability between 0 and 1"),
    ("0.2", {"lever_strikes_authorised": "maybe"}, "Pick one of the offered values."),
    ("0.2", {"reasoning": "x" * 301}, "at most 300 characters (yours has 301)"),
])
def test_bad_forecasts_are_refused_and_keep_the_typing(classroom: Classroom, war: str,
                                                       extra: dict[str, str], message: str):
    session = classroom.create()
    ada = classroom.join(session.code, "Ada")
    assert forecast(ada, "0.1", "0.1").status_code == 200
    r = forecast(ada, war, "0.77", **extra)
    assert r.status_code == 400
    assert message in " ".join(errors_of(r.text))
    assert 'value="0.77"' in r.text  # what was typed is shown again, not lost
    conn = classroom.db()
    assert store.forecast_of(conn, 1).probabilities == {"war": 0.1,  # type: ignore[union-attr]
                                                        "settled": 0.1}
    conn.close()


def test_no_forecast_after_the_lock(classroom: Classroom):
    session = classroom.create()
    ada = classroom.join(session.code, "Ada")
    forecast(ada, "0.1", "0.1")
    classroom.lecturer.post(f"/lecturer/sessions/{session.id}/lock")
    r = forecast(ada, "0.9", "0.9")
    assert r.status_code == 409 and "Forecasts are locked: this change was not saved" in r.text
    conn = classroom.db()
    assert store.forecast_of(conn, 1).probabilities["war"] == 0.1  # type: ignore[union-attr]
    conn.close()
    page = ada.get("/class").text
    assert "Your forecast from" in page and 'http-equiv="refresh"' in page


def test_nobody_sees_others_forecasts_before_the_reveal(classroom: Classroom):
    """A student's page shows only their own forecast; the projected lecturer page shows
    who submitted, never what."""
    session = classroom.create()
    ada = classroom.join(session.code, "Ada")
    bob = classroom.join(session.code, "Bob")
    forecast(ada, "0.123", "0.456", reasoning="Ada's secret reasoning")
    forecast(bob, "0.987", "0.654", reasoning="Bob's secret reasoning")
    ada_page = text(ada.get("/class"))
    assert "0.123" in ada_page and "Ada's secret" in ada_page
    for secret in ("0.987", "0.654", "Bob's secret", "Bob"):
        assert secret not in ada_page
    lecturer_page = text(classroom.lecturer.get(f"/lecturer/sessions/{session.id}"))
    assert "Ada" in lecturer_page and "Bob" in lecturer_page and "submitted" in lecturer_page
    for secret in ("0.123", "0.987", "secret reasoning"):
        assert secret not in lecturer_page
    for path in (f"/lecturer/sessions/{session.id}/reveal",
                 f"/sessions/{session.id}/runs/1/plots/incidence.png"):
        assert ada.get(path).status_code == 403


# -- lock, run, reveal ---------------------------------------------------------------------
def test_lock_unlock_and_run_order(classroom: Classroom):
    session = classroom.create()
    base = f"/lecturer/sessions/{session.id}"
    assert "Lock the forecasts before running" in classroom.lecturer.post(base + "/run").text
    assert "Run the model before revealing" in classroom.lecturer.post(base + "/reveal").text
    assert classroom.lecturer.get(base + "/reveal").status_code == 409
    assert classroom.lecturer.get(base + "/debrief").status_code == 409
    assert "Forecasts are locked" in classroom.lecturer.post(base + "/lock").text
    assert "already locked" in classroom.lecturer.post(base + "/lock").text
    assert "open again" in classroom.lecturer.post(base + "/unlock").text
    assert "cannot be reopened" in classroom.lecturer.post(base + "/unlock").text
    assert classroom.lecturer.get(base + "/progress").json()["state"] == "none"


class Played(dict[str, Any]):
    """A class played to the reveal once, shared by the tests that inspect it."""


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Ada and Bob forecast (Bob recommends withholding strikes), the lecturer locks, runs
    twice at once (a double click), reloads mid-run and reveals."""
    from fastapi.testclient import TestClient

    from sim.web.app import create_app
    from sim.web.config import ServeConfig
    config = ServeConfig(db=tmp_path_factory.mktemp("played") / "c.sqlite",
                         scenarios=SCENARIOS, workers=1, job_nice=0)
    app = create_app(config)
    with TestClient(app, follow_redirects=True) as lecturer:
        room = Classroom(app, config, lecturer)
        lecturer.get(f"/lecturer?token={room.token()}")
        session = room.create(runs=400, seed=5)
        ada = room.join(session.code, "Ada")
        bob = room.join(session.code, "Bob")
        cyd = room.join(session.code, "Cyd")  # joins, never forecasts
        forecast(ada, "0.7", "0.25")
        forecast(bob, "0.2", "0.5", lever_strikes_authorised="false", reasoning="Restraint.")
        base = f"/lecturer/sessions/{session.id}"
        lecturer.post(base + "/lock")
        first = lecturer.post(base + "/run").text
        second = lecturer.post(base + "/run").text
        midway = lecturer.get(base).text
        progress = room.wait_run(session.id)
        lecturer.post(base + "/reveal")
        yield Played(room=room, session=session, ada=ada, bob=bob, cyd=cyd, first=first,
                     second=second, midway=midway, progress=progress, base=base)


@pytest.mark.slow
def test_a_double_click_on_run_starts_one_run(played: Played):
    assert "The run has started" in played["first"]
    assert "already going: it was not started twice" in played["second"]
    assert played["progress"]["state"] == "done", played["progress"]
    conn = played["room"].db()
    assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1
    conn.close()


def test_a_reload_mid_run_shows_progress(played: Played):
    page = played["midway"]
    assert "<progress" in page and 'http-equiv="refresh"' in page
    assert "Reloading is safe" in page


def test_web_numbers_equal_the_cli_and_api_numbers(played: Played):
    """Same scenario, seed and runs: the web run's base case and Bob's policy give exactly
    the counts of `sim run --seed 5 --runs 400` (with and without --set)."""
    conn = played["room"].db()
    run = store.finished_run(conn, played["session"].id)
    conn.close()
    assert run is not None and run.result is not None
    cli = api.simulate(SCENARIOS / "teaching.yaml", runs=400, seed=5, workers=2)
    for o in run.result["outcomes"]:
        assert (o["k"], o["n"]) == (cli.summary.outcome(o["id"]).k, 400)
        assert o["p"] == cli.summary.outcome(o["id"]).p
    (policy,) = run.result["policies"]
    assert policy["label"] == "strikes_authorised=false" and policy["recommended"] == 1
    held = api.simulate(SCENARIOS / "teaching.yaml", runs=400, seed=5,
                        settings=["strikes_authorised=false"])
    for cell in policy["outcomes"]:
        assert cell["p"] == held.summary.outcome(cell["id"]).p
        assert cell["low"] <= cell["diff"] <= cell["high"]
        assert cell["diff"] == pytest.approx(held.summary.outcome(cell["id"]).p
                                             - cli.summary.outcome(cell["id"]).p)


def test_scores_are_brier_scores_on_the_models_answer(played: Played):
    conn = played["room"].db()
    run = store.finished_run(conn, played["session"].id)
    scores = {s.name: s for s in store.scores(conn, run.id)}  # type: ignore[union-attr]
    conn.close()
    truth = {o["id"]: o["p"] for o in run.result["outcomes"]}  # type: ignore[union-attr]
    ada = brier({"war": 0.7, "settled": 0.25}, truth)
    bob = brier({"war": 0.2, "settled": 0.5}, truth)
    assert scores["Ada"].brier == pytest.approx(ada) and scores["Bob"].brier == \
        pytest.approx(bob)
    assert {scores["Ada"].rank, scores["Bob"].rank} == {1, 2}
    assert (scores["Ada"].rank == 1) == (ada < bob)
    assert "Cyd" not in scores


def test_reveal_page_shows_model_class_ranking_policies_and_plots(played: Played):
    page = played["room"].lecturer.get(played["base"] + "/reveal").text
    conn = played["room"].db()
    run = store.finished_run(conn, played["session"].id)
    conn.close()
    war = run.result["outcomes"][0]  # type: ignore[union-attr]
    # As `sim run` prints it: the decimals the interval supports (sim.present.numbers).
    assert f"model <strong>{percent(wilson(war['k'], war['n']))}</strong>" in page
    assert page.count('class="dot"') == 4  # two students, two questions
    assert "class median" in page and "Ada" in page and "Bob" in page
    assert "strikes_authorised=false" in page and "pts" in page
    names = re.findall(r'plots/([a-z_]+)\.png', page)
    assert {"incidence", "outcomes", "comparison"} <= set(names)
    for name in names:
        r = played["room"].lecturer.get(f"/sessions/{played['session'].id}/runs/{run.id}"  # type: ignore[union-attr]
                                        f"/plots/{name}.png")
        assert r.status_code == 200 and r.content.startswith(b"\x89PNG")


def test_names_can_be_hidden_on_the_projector(played: Played):
    lecturer = played["room"].lecturer
    page = lecturer.post(played["base"] + "/names", data={"hide": "1"}).text
    ranking = page.split('class="ranking"')[1].split("</table>")[0]
    assert "Ada" not in ranking and "Student 1" in ranking and "Show names" in page
    page = lecturer.post(played["base"] + "/names", data={"hide": "0"}).text
    assert "Ada" in page.split('class="ranking"')[1].split("</table>")[0]


def test_after_the_reveal_students_see_their_own_score_only(played: Played):
    ada_page = played["ada"].get("/class").text
    conn = played["room"].db()
    run = store.finished_run(conn, played["session"].id)
    mine = next(s for s in store.scores(conn, run.id) if s.name == "Ada")  # type: ignore
    conn.close()
    assert f"Your Brier score: <strong>{mine.brier:.4f}</strong>" in ada_page
    assert f"rank <strong>{mine.rank}</strong> of 2" in ada_page
    assert "Bob" not in ada_page and "Restraint" not in ada_page
    assert "you have no score" in played["cyd"].get("/class").text
    sid, rid = played["session"].id, run.id  # type: ignore[union-attr]
    assert played["ada"].get(f"/sessions/{sid}/runs/{rid}/plots/incidence.png"
                             ).status_code == 200
    for bad in ("nope", "..%2F..%2Fetc", "INCIDENCE"):
        assert played["ada"].get(f"/sessions/{sid}/runs/{rid}/plots/{bad}.png"
                                 ).status_code == 404
    stranger = played["room"].client()
    assert stranger.get(f"/sessions/{sid}/runs/{rid}/plots/incidence.png").status_code == 403


def test_csv_export(played: Played):
    r = played["room"].lecturer.get(played["base"] + "/export.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert [row["student"] for row in rows] == ["Ada", "Bob", "Cyd"]
    bob = rows[1]
    assert (bob["forecast_war"], bob["forecast_settled"]) == ("0.2", "0.5")
    assert bob["recommend_strikes_authorised"] == "false" and bob["reasoning"] == "Restraint."
    assert bob["runs"] == "400" and bob["seed"] == "5" and bob["rank"] in ("1", "2")
    assert rows[2]["submitted"] == "no" and rows[2]["brier"] == ""


def test_printable_debrief(played: Played):
    page = played["room"].lecturer.get(played["base"] + "/debrief").text
    assert "Debrief:" in page and "--runs 400 --seed 5" in page
    assert 'class="ranking"' in page and "strikes_authorised=false" in page


def test_csv_cells_never_start_formulas(classroom: Classroom):
    session = classroom.create()
    evil = classroom.join(session.code, "=HYPERLINK(1)")
    forecast(evil, reasoning="@SUM(A1)")
    rows = list(csv.reader(io.StringIO(classroom.lecturer.get(
        f"/lecturer/sessions/{session.id}/export.csv").text)))
    assert rows[1][2] == "'=HYPERLINK(1)" and "'@SUM(A1)" in rows[1]


# -- persistence, failures, safety ------------------------------------------------------------
def test_everything_survives_a_restart(played: Played):
    from fastapi.testclient import TestClient

    from sim.web.app import create_app
    room = played["room"]
    again = create_app(room.config)
    with TestClient(again, follow_redirects=True) as lecturer:
        lecturer.cookies.set("sim_lecturer", room.token())
        page = lecturer.get(played["base"] + "/reveal").text
        assert "Ada" in page and "strikes_authorised=false" in page
        student = TestClient(again)
        student.cookies.set("sim_student", played["ada"].cookies["sim_student"])
        assert "Your Brier score" in student.get("/class").text


def test_a_run_left_live_by_a_stopped_server_is_marked_interrupted(classroom: Classroom):
    from sim.web.app import open_database
    session = classroom.create()
    conn = classroom.db()
    run = store.start_run(conn, session.id, 200)
    conn.close()
    assert run is not None
    open_database(classroom.config)
    conn = classroom.db()
    after = store.run_by_id(conn, run.id)
    conn.close()
    assert after is not None and after.state == store.INTERRUPTED
    classroom.lecturer.post(f"/lecturer/sessions/{session.id}/lock")
    page = classroom.lecturer.get(f"/lecturer/sessions/{session.id}").text
    assert "The server stopped during this run; run it again." in page


@pytest.mark.slow
def test_stopping_the_server_mid_run_interrupts_the_run_cleanly(classroom: Classroom):
    """Shutdown stops a live run's process (SIGTERM, kept like Ctrl-C) and the run says it
    was stopped; a new run can start afterwards."""
    session = classroom.create("atacms.yaml", runs=50_000)
    classroom.lecturer.post(f"/lecturer/sessions/{session.id}/lock")
    classroom.lecturer.post(f"/lecturer/sessions/{session.id}/run")
    deadline = time.monotonic() + 120
    while classroom.lecturer.get(f"/lecturer/sessions/{session.id}/progress"
                                 ).json()["state"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    classroom.app.state.jobs.stop_all()
    state = classroom.lecturer.get(f"/lecturer/sessions/{session.id}/progress").json()
    assert state["state"] == "interrupted", state
    assert "run it again" in state["message"]
    page = classroom.lecturer.get(f"/lecturer/sessions/{session.id}").text
    assert "The last run was interrupted" in page and "Run the model</button>" in page


def test_a_run_whose_process_vanished_is_reported_failed(classroom: Classroom):
    session = classroom.create()
    conn = classroom.db()
    run = store.start_run(conn, session.id, 200)  # queued, but no process was started
    conn.close()
    assert run is not None
    state = classroom.lecturer.get(f"/lecturer/sessions/{session.id}/progress").json()
    assert state["state"] == "failed" and "stopped unexpectedly" in state["message"]


@pytest.mark.slow
def test_a_run_that_fails_says_why(classroom: Classroom):
    """A scenario whose expressions fail at run time: the run ends 'failed' with the
    simulator's own message, and the class can still be run again."""
    broken = re.sub(r'probability: "min\(1, red_resolve[^\n]*',
                    'probability: "red_resolve * (1 + strikes) * 10"', TEACHING)
    assert broken != TEACHING
    classroom.lecturer.post("/lecturer/sessions",
                            files={"upload": ("broken.yaml", broken.encode(), "text/yaml")})
    conn = classroom.db()
    (session,) = store.all_sessions(conn)
    conn.close()
    classroom.lecturer.post(f"/lecturer/sessions/{session.id}/lock")
    classroom.lecturer.post(f"/lecturer/sessions/{session.id}/run")
    state = classroom.wait_run(session.id)
    assert state["state"] == "failed" and "probability" in state["message"]
    page = classroom.lecturer.get(f"/lecturer/sessions/{session.id}").text
    assert "The last run failed" in page and "Run the model" in page


def test_every_response_is_locked_down_and_assets_are_local(classroom: Classroom):
    r = classroom.client().get("/join")
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-store"
    css = classroom.client().get("/static/app.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    web = Path(__file__).resolve().parent.parent / "sim" / "web"
    for path in [*web.glob("templates/*.html"), *web.glob("static/*")]:
        text = path.read_text()
        assert not re.search(r"(src|href)=\"(https?:)?//", text), path
        assert "@import" not in text and "url(http" not in text, path


def test_every_route_of_the_classroom_is_tested():
    """Each route of the lecturer, student and exports areas appears in this file."""
    from sim.web import exports, lecturer, student
    source = Path(__file__).read_text()
    for area in (lecturer, student, exports):
        for route in area.router.routes:
            path = getattr(route, "path", "")
            pattern = re.sub(r"\{[^}]+\}", "{X}", path)
            written = re.sub(r"\{[^}]+\}", "{X}", re.sub(r"\d+", "{X}", source))
            assert pattern in written or path in source, path


# -- the command -------------------------------------------------------------------------------
@pytest.mark.slow
def test_serve_binds_to_this_computer_by_default(tmp_path: Path):
    from conftest import start_server, stop_server
    server = start_server(tmp_path / "a.sqlite")
    try:
        assert server.url.startswith("http://127.0.0.1:")
        import urllib.request
        with urllib.request.urlopen(server.url + "/join", timeout=10) as page:
            assert page.status == 200
    finally:
        out = stop_server(server)
    assert "this computer only; use --host 0.0.0.0 for the room" in out
    assert "everything is kept in" in out and "Traceback" not in out
    assert server.process.returncode == 0


@pytest.mark.slow
def test_serve_says_when_it_is_open_to_the_network(tmp_path: Path):
    from conftest import start_server, stop_server
    server = start_server(tmp_path / "b.sqlite", "--host", "0.0.0.0")
    out = stop_server(server)
    assert "OPEN TO THE NETWORK on 0.0.0.0:" in out and "/join" in out


@pytest.mark.slow
def test_serve_refuses_a_busy_port_and_a_bad_host(tmp_path: Path):
    import socket
    import subprocess
    import sys
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        for args, message in ((["--port", str(port)], f"cannot listen on 127.0.0.1:{port}"),
                              (["--host", "my-laptop"], "give an IP address")):
            done = subprocess.run([sys.executable, "-m", "sim", "serve", "--db",
                                   str(tmp_path / "c.sqlite"), *args], capture_output=True,
                                  text=True, timeout=60)
            assert done.returncode == 2 and message in done.stderr, done.stderr
            assert "Traceback" not in done.stderr


def test_scenario_and_student_text_is_escaped_everywhere(classroom: Classroom):
    """A hostile title or name is shown as text, never run as markup."""
    evil = TEACHING.replace('title: "Teaching example: a border crisis between Blue and Red"',
                            'title: "<script>alert(1)</script>"')
    assert evil != TEACHING
    classroom.lecturer.post("/lecturer/sessions",
                            files={"upload": ("evil.yaml", evil.encode(), "text/yaml")})
    conn = classroom.db()
    (session,) = store.all_sessions(conn)
    conn.close()
    student = classroom.join(session.code, "<img src=x onerror=alert(2)>")
    pages = [student.get("/class").text, classroom.lecturer.get("/lecturer").text,
             classroom.lecturer.get(f"/lecturer/sessions/{session.id}").text]
    for page in pages:
        assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[0]
    assert "&lt;img src=x onerror=alert(2)&gt;" in pages[2]


# -- what the pages print: the numbers rules of sim.present.numbers ------------------------

def _result(k: int, n: int = 4000) -> dict[str, Any]:
    """A finished run's stored result with one question answered k times in n runs."""
    est = wilson(k, n)
    return {"runs": n, "outcomes": [{"id": "war", "name": "General war", "k": k, "n": n,
                                     "p": est.p, "low": est.low, "high": est.high}],
            "policies": []}


@pytest.mark.parametrize(("k", "n", "model", "interval"), [
    (0, 4000, "0%", "0.00% to 0.10%"),          # never seen: an exact 0, not "0.0%"
    (3998, 4000, "99.95%", "99.82% to 99.99%"),  # not "100.0%": it is not certain
    (4000, 4000, "100%", "99.90% to 100.00%"),
    (1480, 4000, "37%", "36% to 39%"),          # not "37.0%": the interval is 3 points
    (200, 4000, "5.0%", "4.4% to 5.7%"),
])
def test_the_models_answers_print_as_the_cli_prints_them(k, n, model, interval):
    """Reveal strips and the student's answers give the model's probability with the
    decimals its interval supports, as `sim run` does (percent and interval_ends)."""
    from sim.web import views
    result = _result(k, n)
    strip = views.strips(result, {})[0]
    assert (strip.model, strip.interval) == (model, interval)
    assert views.answers(result) == [("General war", model, interval)]


def test_forecasts_print_in_whole_percents_but_never_as_certain():
    """A class's forecasts are whole percents; 0.4% is not rounded to 0% nor 99.7% to
    100%; the class median and a student's own row follow the same rule."""
    from sim.web import views
    result = _result(200)
    given = {i: store.Forecast(i, {"war": v}, {}, "", 0.0)
             for i, v in enumerate((0.3, 0.004, 0.997), start=1)}
    strip = views.strips(result, given)[0]
    assert sorted(d.label for d in strip.dots) == ["0.4%", "30%", "99.7%"]
    assert strip.median == "30%"
    assert (strip.model, strip.interval) == ("5.0%", "4.4% to 5.7%")
    own = views.own_score(result, given[2], [store.Score(2, "Ada", 0.1, 1)], 2)
    assert own is not None and own.rows == [("General war", "0.4%", "5.0%")]


def test_policy_rows_share_one_precision_of_points():
    """A policy's probability has its own interval's decimals; every difference of the
    table has one precision (places_for), with 'pts' as before."""
    from sim.web import views
    result = _result(1480)
    result["policies"] = [{"label": "strikes_authorised=false", "recommended": 2,
                           "outcomes": [{"id": "war", "p": 0.0, "diff": -0.37,
                                         "low": -0.385, "high": -0.355}]}]
    (row,) = views.policy_rows(result)
    assert row.cells == [("0%", "-37.0 pts", "-38.5 pts to -35.5 pts")]
