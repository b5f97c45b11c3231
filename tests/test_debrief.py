"""The debrief of a crisis game: conditional risks checked against the exact answer,
paired before/after, standing and first passages from the same runs, the documents."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import FakeClock

from sim.analyses import debrief as d
from sim.analyses import game as g
from sim.analyses import play
from sim.analyses.exact import solve
from sim.present import debrief as doc
from sim.present import gameplots, plots
from sim.results.stats import wilson
from sim.spec.loader import load

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def markov():
    return load(ROOT / "scenarios" / "markov.yaml")


@pytest.fixture(scope="module")
def teaching():
    return load(ROOT / "scenarios" / "teaching.yaml")


@pytest.mark.slow
def test_risk_before_the_first_move_matches_the_exact_answer(markov):
    """At day 0 the continuations are fresh replications of a Markov chain: their share
    reaching 'war' must agree with the exact CTMC probability (99.9% Wilson interval)."""
    game = g.CrisisGame(markov, g.Setup(("red",), seed=7, every=73.0), FakeClock())
    game.start()
    game.submit("red", {}, "mobilise")
    war = markov.rung_index("war")
    (risk,) = d.conditional_risk(markov, game.setup, game.turns[:1], war, 1500)
    exact = float(solve(markov).rung("war")[-1])
    low = wilson(risk.before.k, risk.before.n, z=3.29)
    assert low.low <= exact <= low.high, (risk.before, exact)
    # Mobilising is war at once: every continuation after the move has reached it.
    assert risk.after.k == risk.after.n == 1500
    assert risk.change.diff == pytest.approx(1 - risk.before.p)
    assert risk.change.low > 0.5


def test_no_moves_means_no_change_and_no_turning_point(teaching):
    """Before and after share their dice: a turn without moves changes nothing, exactly."""
    game = g.CrisisGame(teaching, g.Setup(("blue", "red"), seed=1), FakeClock())
    game.start()
    game.end_turn()
    game.submit("blue", {"strikes_authorised": False})
    game.submit("red", {})
    risks = d.conditional_risk(teaching, game.setup, game.turns, 3, 120)
    assert risks[0].before == risks[0].after and risks[0].change.diff == 0
    assert risks[1].after.k == 0  # no strikes, nothing to answer: war is impossible now
    assert d.turning_points(risks) == (1,)
    # Reproducible: the same game gives the same estimates.
    assert d.conditional_risk(teaching, game.setup, game.turns, 3, 120) == risks


def test_debrief_numbers_come_from_the_same_runs(teaching):
    """Standing equals play.standing for the game's peak; first passages read the curves."""
    game = g.CrisisGame(teaching, g.Setup(("blue", "red"), seed=1), FakeClock())
    game.start()
    while not game.over:
        game.end_turn()
    result = d.debrief(game, runs=600, continuations=40)
    rec = game.record()
    assert result.standing == play.standing(teaching, rec.peak, 600, 1, workers=1)
    assert result.rung == 3 and result.runs == 600
    for rung, day, share in result.first_reach:
        assert day == rec.first_reach[rung]
        assert share.p == pytest.approx(float(result.summary.rung_curves[rung].p[int(day)]))
    assert len(result.risks) == len(game.turns) == 3
    assert d.top_rung(load(ROOT / "scenarios" / "atacms.yaml")) == 6


def test_documents_escape_notes_and_carry_the_replay(teaching):
    """Markdown and HTML: the verdict, the transcript with the note (escaped in HTML),
    the turning-point table and the moves file that replays the game."""
    game = g.CrisisGame(teaching, g.Setup(("blue", "red"), seed=1), FakeClock())
    game.start()
    game.inject("<script>alert(1)</script> talks", "talks_succeed")
    game.end_turn()
    result = d.debrief(game, runs=200, continuations=20)
    md = doc.to_markdown(game, result, "game.yaml")
    assert "- Outcome: the run ended on 2025-01-01: talks succeed." in md
    assert "- Facilitator: <script>alert(1)</script> talks (injects 'talks succeed')" in md
    assert ('- {day: 0, by: facilitator, inject: talks_succeed, note: "<script>alert(1)'
            '</script> talks"}') in md
    assert "--moves game.yaml" in md
    figure = gameplots.path_over_fan(result.summary, game.model, game.record())
    page = doc.to_html(game, result, {"game_fan": plots.png_bytes(figure, dpi=30)})
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; talks" in page
    assert page.count("data:image/png;base64,") == 1
    assert "Your crisis against the simulated ones" in page


def test_role_briefs_list_levers_decisions_and_what_stays_hidden():
    """A brief per actor: levers with when they can be set, decisions with citations,
    covert actions of others, the cited sources; scenario text escaped."""
    from sim.present import briefs
    from sim.spec.loader import load_text
    covert = load_text((ROOT / "tests" / "game_covert.yaml").read_text(encoding="utf-8"),
                       "c.yaml")
    red = briefs.role_brief(covert, "red")
    assert [lv.id for lv, _ in red.levers] == ["red_mobilised"]
    assert [a.id for a, _ in red.decisions] == ["red_escalates", "talks_succeed"]
    assert [a.id for a in red.unseen] == ["deep_strike"]
    assert briefs.role_brief(covert, "blue").levers[1][1] == "at the first turn only"
    assert red.sources == (("toy", "Teaching assumption: round numbers chosen so that "
                                   "effects are visible in class."),)
    page = briefs.briefs_page(covert, ["blue", "red"], 30)
    assert page.count('<article class="brief"') == 2
    assert "Each turn covers 30 simulated days" in page
    assert "What you will not learn of</h2><p>deep strike (Blue)" in page
    text = briefs.brief_markdown(covert, "red", 30)
    assert "- `red_mobilised` = false (on/off; any turn)" in text
    atacms = load(ROOT / "scenarios" / "atacms.yaml")
    us = briefs.role_brief(atacms, "us")
    assert briefs.cites(us.levers[0][0].source) == "[reuters_atacms] [ap_atacms] [nyt_atacms]"
    assert "reuters_atacms" in dict(us.sources)
