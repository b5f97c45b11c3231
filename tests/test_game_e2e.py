"""A crisis game played in a real browser (headless Chromium) against the real `sim serve`.

The lecturer opens a game on the flagship scenario with two human teams (the United
States and North Korea; the model plays Ukraine, Russia, China, the UN and NATO), students
join their teams from phones, three turns are played with one facilitator injection and
one missed deadline ended by the facilitator, and the debrief's path must equal what
`sim play` gives when it replays the exported moves file.

Set GAME_SCREENSHOTS=folder to keep screenshots of the pages (docs/classroom.md uses them).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import SCENARIOS, LiveServer
from helpers import fresh, images_load

from sim.analyses import play
from sim.spec.loader import load

SEED, REPLICATION, DAYS = 3, 1, 122
SHOTS = os.environ.get("GAME_SCREENSHOTS")
# Small numbers keep the test quick; the documentation's screenshots use realistic ones.
RUNS, CONTINUATIONS = (4000, 200) if SHOTS else (400, 20)


def shot(page: Any, name: str, at: str = "") -> None:
    """Keep a screenshot of what the screen shows (scrolled to ``at``) when asked to."""
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        if at:
            page.locator(at).first.evaluate("e => e.scrollIntoView()")
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"))


def lecturer_opens_a_game(page: Any, server: LiveServer) -> str:
    """A session on the flagship scenario and a game in it; returns the join code."""
    page.goto(server.lecturer_url)
    page.get_by_label("Shipped scenario").select_option("atacms.yaml")
    page.get_by_role("button", name="Create session").click()
    code = page.inner_text(".big-code").strip()
    page.get_by_role("link", name="Crisis game: teams play actors turn by turn").click()
    page.get_by_label("United States").check()
    page.get_by_label("North Korea (DPRK)").check()
    page.get_by_label("Simulated days per turn").fill(str(DAYS))
    page.get_by_label("Seed (the dice)").fill(str(SEED))
    page.get_by_label("Replication (which dice)").fill(str(REPLICATION))
    shot(page, "1-open-game")
    page.get_by_role("button", name="Open the game").click()
    assert "Game created" in page.inner_text("main")
    return code


def student_joins(browser: Any, server: LiveServer, code: str, name: str, team: str) -> Any:
    """A student on a phone joins the class and then a team."""
    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    page.goto(f"{server.url}/join?code={code}")
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Join").click()
    page.get_by_role("link", name="Crisis game: your team's page").click()
    page.get_by_label(team).check()
    page.get_by_role("button", name="Join this team").click()
    assert f"team {team}" in page.inner_text("header")
    return page


@pytest.mark.slow
def test_a_crisis_game_in_the_browser(browser: Any, live_server: LiveServer, tmp_path: Path):
    lecturer = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    code = lecturer_opens_a_game(lecturer, live_server)
    us = student_joins(browser, live_server, code, "Ada", "United States")
    nk = student_joins(browser, live_server, code, "Bob", "North Korea (DPRK)")
    fresh(lecturer)
    assert "Ada" in lecturer.inner_text("table") and "Bob" in lecturer.inner_text("table")
    lecturer.get_by_role("button", name="Start the first turn").click()

    # Turn 1: both teams move; the turn resolves as soon as both are in.
    fresh(us)
    assert "turn 1 of 3" in us.inner_text("h1")
    us.locator("#lever-atacms_authorised").select_option("false")
    us.get_by_role("button", name="Submit for United States").click()
    assert "Your team sets atacms_authorised=false" in us.inner_text("main")
    fresh(nk)
    nk.locator("#lever-nk_troops").fill("20000")
    nk.get_by_role("button", name="Submit for North Korea (DPRK)").click()
    nk.wait_for_selector("text=turn 2 of 3")

    # Turn 2: an injection, a move by North Korea only, the facilitator ends the turn.
    fresh(lecturer)
    lecturer.get_by_label("Action").select_option("nuclear_signal")
    lecturer.get_by_label("Note for the narrative (one line)").fill(
        "Moscow answers the new deployments with a nuclear exercise")
    lecturer.get_by_role("button", name="Queue the injection").click()
    assert "Injection queued" in lecturer.inner_text("main")
    nk.get_by_label("nk troops in combat").check()
    nk.get_by_role("button", name="Submit for North Korea (DPRK)").click()
    fresh(lecturer)
    shot(lecturer, "4-facilitator")
    shot(lecturer, "5-inject", "#inj-h")
    lecturer.get_by_role("button", name="End this turn now").click()
    fresh(us)
    assert "did not submit in time" in us.inner_text("main")
    assert "Facilitator: Moscow answers the new deployments" in us.inner_text("#news")
    shot(us, "2-team-briefing")
    shot(us, "3-team-move", "#move-h")

    # Turn 3: both move; the game ends at the horizon.
    us.locator("#lever-us_aid_bn_per_year").fill("40")
    us.get_by_role("button", name="Submit for United States").click()
    fresh(nk)
    nk.get_by_role("button", name="Submit for North Korea (DPRK)").click()
    fresh(lecturer)
    assert lecturer.inner_text("#game-status").lower() == "over"

    # The debrief, computed in a worker process; the page refreshes itself.
    lecturer.get_by_label("Simulated crises to compare with").fill(str(RUNS))
    lecturer.get_by_label("Continuations per turn (turning points)").fill(str(CONTINUATIONS))
    lecturer.get_by_role("button", name="Compute the debrief").click()
    lecturer.wait_for_selector("#path", timeout=240_000)
    assert images_load(lecturer) >= 1
    shot(lecturer, "6-debrief")
    shot(lecturer, "7-debrief-fan", "#figure-game_fan")
    shot(lecturer, "8-debrief-turning", "#turning")
    shown = [(float(day), int(rung)) for day, rung in (
        (row.get_attribute("data-day"), row.get_attribute("data-rung"))
        for row in lecturer.locator("#path tbody tr").all())]

    moves = lecturer.request.get(f"{live_server.url}{_game_path(lecturer)}/moves.yaml").text()
    assert "- {day: 122, by: facilitator, inject: nuclear_signal" in moves
    file = tmp_path / "game-moves.yaml"
    file.write_text(moves, encoding="utf-8")
    model = load(SCENARIOS / "atacms.yaml")
    replayed = play.Game(model, "us", SEED, REPLICATION, DAYS)
    script = play.load_moves(file, replayed)
    record = play.run(replayed, lambda s, _problem: script.get(s.index, {}))
    assert shown == [(day, rung) for day, rung in record.rung_path]
    assert f"Your crisis vs {RUNS:,} simulated ones" in lecturer.inner_text("main")


def _game_path(page: Any) -> str:
    found = re.search(r"/lecturer/games/\d+", page.url)
    assert found is not None, page.url
    return found.group(0)
