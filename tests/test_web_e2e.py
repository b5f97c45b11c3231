"""A class played in a real browser (headless Chromium) against the real `sim serve`.

The lecturer creates a session, two students join in separate browser contexts and
forecast, the lecturer locks, runs and reveals; the scores on the page must equal the Brier
scores computed from a plain API run with the same scenario, seed and runs.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import SCENARIOS, LiveServer
from helpers import fresh, images_load

from sim import api
from sim.present.numbers import percent
from sim.results.scoring import brier

RUNS, SEED = 300, 4
FORECASTS = {"Ada": {"war": "0.6", "settled": "0.3"},
             "Bob": {"war": "0.25", "settled": "0.55"}}


def lecturer_creates_a_session(page: Any, server: LiveServer) -> str:
    """Sign in with the printed URL, create a teaching session, set runs and seed;
    returns the join code read from the page."""
    page.goto(server.lecturer_url)
    assert page.url.endswith("/lecturer")
    page.get_by_label("Shipped scenario").select_option("teaching.yaml")
    page.get_by_role("button", name="Create session").click()
    page.get_by_label("Runs per model").fill(str(RUNS))
    page.get_by_label("Seed").fill(str(SEED))
    page.get_by_role("button", name="Save questions").click()
    assert "Questions saved." in page.inner_text("main")
    return page.inner_text(".big-code").strip()


def student_forecasts(browser: Any, server: LiveServer, code: str, name: str,
                      recommend: bool) -> Any:
    """A student in a browser context of their own joins via the QR address and forecasts."""
    context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
    page = context.new_page()
    page.goto(f"{server.url}/join?code={code}")
    assert page.get_by_label("Join code").input_value() == code
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Join").click()
    assert f"You are {name}" in page.inner_text("header")
    assert "not a forecast" in page.inner_text(".briefing")
    page.get_by_label("General war").fill("1.4")  # a mistake first: refused, nothing lost
    page.get_by_label("Settlement signed").fill(FORECASTS[name]["settled"])
    page.get_by_role("button", name="Submit my forecast").click()
    assert "must be between 0 and 1" in page.inner_text("main")
    assert page.get_by_label("Settlement signed").input_value() == FORECASTS[name]["settled"]
    page.get_by_label("General war").fill(FORECASTS[name]["war"])
    if recommend:
        page.get_by_label("strikes_authorised (now on)").select_option("false")
        page.get_by_label("Why, in one sentence").fill("Fewer strikes, fewer answers.")
    page.get_by_role("button", name="Submit my forecast").click()
    assert "Saved at" in page.inner_text("main")
    return page


@pytest.mark.slow
def test_a_class_in_the_browser(browser: Any, live_server: LiveServer):
    lecturer = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    code = lecturer_creates_a_session(lecturer, live_server)
    students = {name: student_forecasts(browser, live_server, code, name, name == "Bob")
                for name in FORECASTS}

    fresh(lecturer)  # the open session's page refreshes itself every 3 s
    assert "2 joined, 2 forecast" in lecturer.inner_text("main")
    lecturer.get_by_role("button", name="Lock forecasts").click()
    assert "Forecasts are locked" in lecturer.inner_text("main")
    lecturer.get_by_role("button", name="Run the model").click()
    lecturer.wait_for_selector("text=Finished:", timeout=240_000)  # the page refreshes itself
    lecturer.get_by_role("button", name="Reveal").click()
    assert "the reveal" in lecturer.inner_text("h1")

    cli = api.simulate(SCENARIOS / "teaching.yaml", runs=RUNS, seed=SEED).summary
    truth = {oid: cli.outcome(oid).p for oid in ("war", "settled")}
    expected = {name: brier({k: float(v) for k, v in f.items()}, truth)
                for name, f in FORECASTS.items()}
    rows = lecturer.locator("table.ranking tbody tr").all_inner_texts()
    shown = {re.split(r"\t", row)[1]: float(re.split(r"\t", row)[2]) for row in rows}
    assert shown == {name: round(value, 4) for name, value in expected.items()}
    war = lecturer.inner_text("figure.strip >> nth=0")
    assert f"model {percent(cli.outcome('war'))} (" in war  # as `sim run` prints it
    assert lecturer.locator("circle.dot").count() == 4
    assert "strikes_authorised=false" in lecturer.inner_text("table.policies")
    assert images_load(lecturer, "figure.plot img") >= 4
    images_load(lecturer)

    for name, page in students.items():
        fresh(page)
        assert f"Your Brier score: {expected[name]:.4f}" in page.inner_text("main")
        other = next(n for n in FORECASTS if n != name)
        assert other not in page.inner_text("body")
