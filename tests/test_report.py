"""Terminal table and HTML report: exact text, escaping, self-containment, every section."""

from __future__ import annotations

import base64
import html
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest

from sim.present.report import NOT_A_FORECAST, format_estimate, format_table, render_html
from sim.results.stats import Estimate
from sim.results.summary import Curve, Line, Summary, summarise
from sim.run import runner
from sim.spec.loader import load, load_text

ROOT = Path(__file__).resolve().parent.parent
TEACHING = ROOT / "scenarios" / "teaching.yaml"
PNG = b"\x89PNG\r\n\x1a\n"
HOSTILE = "<script>alert('x')</script> & \"quotes\""


def hand_summary(n: int = 1000, warnings: tuple[str, ...] = ()) -> Summary:
    """A Summary with chosen estimates: 3 rungs (start in the middle) and 2 outcomes."""
    def est(k: int, p: float, low: float, high: float) -> Estimate:
        return Estimate(k, n, p, low, high)

    days = 11
    flat = Curve("x", "x", np.zeros(days), np.zeros(days), np.zeros(days))
    rungs = (Line("calm", "Calm", est(123, 0.123, 0.114, 0.133)),
             Line("crisis", "Crisis", est(n, 1.0, 0.9996, 1.0)),
             Line("war", "Open war", est(45, 0.045, 0.02, 0.07)))
    outcomes = (Line("talks", "Talks", est(500, 0.5, 0.4969, 0.5031)),
                Line("nuke", "Nuclear use", est(3, 0.003, 0.001, 0.0088)))
    return Summary(
        scenario="hand", title="Hand-built example", variant="base", levers=(), n=n,
        horizon=10.0, start="2025-01-01", initial_rung=1, rungs=rungs, outcomes=outcomes,
        rung_curves=(flat, flat, flat), outcome_curves=(flat, flat),
        occupancy=np.tile([0.0, 1.0, 0.0], (days, 1)),
        bands={q: np.ones(days, int) for q in (0.05, 0.25, 0.5, 0.75, 0.95)},
        peak_share=np.array([0.0, 0.955, 0.045]), terminal=(), actions=(), state=(),
        n_events=0, warnings=warnings)


HOSTILE_YAML = textwrap.dedent("""
scenario:
  id: hostile
  title: "Crisis <script>alert('title')</script>"
  description: "Costs $5 & <b>bold</b> claims"
  start: 2025-01-01
  horizon_days: 20
  sources:
    ref_a: "Report <i>A</i>, see https://example.org/a?x=1"
    ref_b: "Report B, building on [ref_a]"
ladder:
  initial: calm
  rungs:
    - {id: settled, name: "Settled <em>peace</em>"}
    - {id: calm, name: Calm}
    - {id: war, name: "War <script>x()</script>", framework: "Kahn [ref_b]"}
actors:
  a: {name: "Actor <A>"}
levers:
  dial: {value: 2, range: [0, 5], unit: "strikes/day", description: "Dial <u>it</u>",
         source: "[ref_a] page 3"}
parameters:
  resolve: {dist: triangular, low: 0.1, mode: 0.2, high: 0.5, description: "Resolve <x>",
            source: "[ref_b]"}
state:
  s: {initial: 0, description: "Strikes so far"}
actions:
  push: {actor: a, rung: war, effects: {s: s + 1}, ends_run: true}
  calm_down: {actor: a, rung: settled, rung_mode: set, ends_run: true}
schedule:
  - {id: summit, at: 2025-01-05, action: calm_down, probability: "0.1 * dial",
     description: "Summit <script>", source: "[ref_a]"}
processes:
  pushing: {rate: "0.01 * dial", action: push, source: "[ref_a] and [ref_b]",
            description: "Pushes <hard>"}
rules:
  answer: {on: push, probability: "min(1, resolve * 2)", delay: {dist: exponential, mean: 3},
           action: calm_down, source: "[ref_b]"}
outcomes:
  war: {name: "War <outcome>", when: "peak >= war"}
""")


@pytest.fixture(scope="module")
def hostile():
    """A small model full of markup, run 200 times."""
    model = load_text(HOSTILE_YAML, "hostile.yaml")
    result = runner.run(model, 200, 3, workers=1)
    return model, summarise(model, result.aggregate)


@pytest.fixture(scope="module")
def teaching():
    """The teaching scenario run 300 times."""
    model = load(str(TEACHING))
    result = runner.run(model, 300, 7, workers=1)
    return model, summarise(model, result.aggregate)


def manifest() -> dict:
    """A manifest shaped like sim.present.output.manifest, with markup in the command."""
    return {"status": "complete", "scenario": {"id": "hostile", "sha256": "ab" * 32},
            "seed": 42, "runs_completed": 200, "command": "python -m sim run <x>.yaml",
            "versions": {"python": "3.11", "numpy": "2.0"}}


# -- format_estimate and format_table ------------------------------------------------------

def test_format_estimate_styles():
    """Text, plot and point styles of one estimate with one decimal (half-width 0.95 pt)."""
    e = Estimate(123, 1000, 0.123, 0.114, 0.133)
    assert format_estimate(e) == "12.3% [11.4%, 13.3%]"
    assert format_estimate(e, style="plot") == "12.3% [11.4\N{EN DASH}13.3]"
    assert format_estimate(e, style="point") == "12.3%"


def test_format_estimate_exact_counts_and_no_runs():
    """Point style shows 0% and 100% bare; an empty run says n/a instead of nan."""
    assert format_estimate(Estimate(0, 1000, 0.0, 0.0, 0.0038), style="point") == "0%"
    assert format_estimate(Estimate(1000, 1000, 1.0, 0.996, 1.0), style="point") == "100%"
    assert format_estimate(Estimate(0, 0, float("nan"), 0.0, 1.0)).startswith("n/a")


def test_format_table_exact_lines():
    """Rungs in ladder order with the start marked, then outcomes; decimals follow intervals."""
    assert format_table(hand_summary()).splitlines() == [
        "Hand-built example - base case",
        "1,000 runs, horizon 10 days (2025-01-01 to 2025-01-11), 95% Wilson intervals",
        "",
        "Rung (lowest first)  P(reach)  95% interval",
        "Calm                    12.3%  [11.4%, 13.3%]",
        "Crisis (start)           100%  [99.96%, 100.00%]",
        "Open war                   4%  [2%, 7%]",
        "P(reach): share of runs at this rung or beyond it by the horizon",
        "(for rungs below the start: settled at least that far).",
        "",
        "Outcome                     P  95% interval",
        "Talks                   50.0%  [49.7%, 50.3%]",
        "Nuclear use              0.3%  [0.1%, 0.9%]",
    ]


def test_format_table_wraps_long_names():
    """A name longer than 46 characters continues on an indented line; rows fit 80 columns."""
    s = hand_summary()
    long = "Large conventional war inside the country and on its northern border"
    rungs = (s.rungs[0], Line("crisis", long, s.rungs[1].estimate), s.rungs[2])
    lines = format_table(Summary(**{**s.__dict__, "rungs": rungs})).splitlines()
    row = lines.index("Large conventional war inside the country and       100%  [99.96%, 100.00%]")
    assert lines[row + 1] == "  on its northern border (start)"
    assert max(len(line) for line in lines[3:]) <= 80


def test_format_table_warnings_deduplicated_and_wrapped():
    """Warnings follow the table once each, wrapped under a dash."""
    long = "word " * 40
    text = format_table(hand_summary(warnings=("Too few runs.", "Too few runs.", long.strip())))
    lines = text.splitlines()
    start = lines.index("Warnings:")
    assert lines[start + 1] == "  - Too few runs."
    assert text.count("Too few runs.") == 1
    assert all(len(line) <= 96 for line in lines[start:])
    assert lines[start + 2].startswith("  - word") and lines[start + 3].startswith("    word")


def test_format_table_no_runs():
    """With zero runs every probability reads n/a rather than nan."""
    table = format_table(hand_summary(n=0))
    assert "nan" not in table
    assert table.count("n/a  (no runs)") == 5


def test_format_table_real_summary(teaching):
    """Every rung and outcome name of a real run appears, the start rung marked once."""
    model, summary = teaching
    table = format_table(summary)
    for rung in model.rungs:
        assert rung.name in table
    assert table.count("(start)") == 1
    assert "Border skirmishes (start)" in table


# -- render_html ---------------------------------------------------------------------------

def test_html_escapes_all_scenario_text(hostile):
    """Markup from the scenario file appears only escaped; the page has no script at all."""
    model, summary = hostile
    page = render_html(model, summary, {}, manifest())
    assert "<script" not in page.lower()
    for raw in ("<b>bold</b>", "<em>peace</em>", "<i>A</i>", "<u>it</u>", "<x>", "<A>",
                "<hard>", "<outcome>", "<x>.yaml"):
        assert raw not in page
        assert html.escape(raw) in page
    assert html.escape("Crisis <script>alert('title')</script>") in page
    assert "$5 &amp; " in page


def test_html_is_self_contained_and_images_decode(hostile):
    """Images are base64 data URIs that decode to the given bytes; nothing is fetched."""
    model, summary = hostile
    images = {"rung_probabilities": PNG + b"one", "incidence": PNG + b"two",
              "custom_stem": PNG + b"three"}
    page = render_html(model, summary, images, manifest())
    found = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert sorted(base64.b64decode(f) for f in found) == sorted(images.values())
    assert not re.search(r'(src|href)="(https?:)?//', page.replace(
        'href="https://example.org/a?x=1"', ""))
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert "<style>" in page


def test_html_lists_every_rung_outcome_and_source(hostile):
    """Each rung and outcome name and each source key is on the page, sources anchored."""
    model, summary = hostile
    page = render_html(model, summary, {}, manifest())
    for rung in model.rungs:
        assert html.escape(rung.name) in page
    for outcome in model.outcomes:
        assert html.escape(outcome.name) in page
    for key, _text in model.sources:
        assert f'<li id="source-{key}">' in page
        assert f"[{key}]" in page


def test_html_citations_link_to_sources(hostile):
    """[key] in source texts (and frameworks) become links to the source list."""
    model, summary = hostile
    page = render_html(model, summary, {}, manifest())
    assert '<a href="#source-ref_a">[ref_a]</a> page 3' in page
    assert 'Kahn <a href="#source-ref_b">[ref_b]</a>' in page
    assert 'building on <a href="#source-ref_a">[ref_a]</a>' in page
    assert '<a href="https://example.org/a?x=1">' in page


def test_html_has_note_results_and_warnings(hostile):
    """The not-a-forecast note, result tables with intervals and the run's warnings."""
    model, summary = hostile
    page = render_html(model, summary, {}, manifest())
    assert NOT_A_FORECAST in page
    assert "This is a teaching and exploration model, not a forecast" in page
    assert summary.warnings  # 200 runs: the precision warning is there
    for warning in summary.warnings:
        assert html.escape(warning) in page
    p, _ = format_estimate(summary.rungs[2].estimate).split(" [", 1)
    assert f'<td class="num">{p}</td>' in page
    assert page.count('class="start"') == 1


def test_html_documents_assumptions(hostile):
    """Levers, parameters, processes, rules and schedule show values, expressions, sources."""
    model, summary = hostile
    page = render_html(model, summary, {}, manifest())
    section = {m.group(1): m.group(2) for m in
               re.finditer(r'<section id="([a-z0-9-]+)">(.*?)</section>', page, re.S)}
    assert "strikes/day" in section["levers"] and "0 to 5" in section["levers"]
    assert "triangular(low=0.1, mode=0.2, high=0.5)" in section["parameters"]
    assert "0.01 * dial" in section["behaviour"]
    assert "min(1, resolve * 2)" in section["behaviour"]
    assert "exponential(mean=3)" in section["behaviour"]
    assert "2025-01-05" in section["schedule"] and "0.1 * dial" in section["schedule"]
    assert "Strikes so far" in section["state"]


def test_html_manifest_and_extra_sections(hostile):
    """Manifest values (nested too) are shown; extra sections come before the sources."""
    model, summary = hostile
    page = render_html(model, summary, {}, manifest(),
                       extra_sections=[("Compare <A>", "<p>variant table</p>")])
    manifest_html = page[page.index('<section id="manifest">'):]
    for text in ("seed", "42", "ab" * 32, "3.11", "numpy", "python -m sim run &lt;x&gt;.yaml"):
        assert text in manifest_html
    assert "<h2>Compare &lt;A&gt;</h2><p>variant table</p>" in page
    assert page.index("variant table") < page.index('<section id="sources">')


def test_html_real_run_marks_variant(teaching):
    """A variant run names the variant and the changed lever, and flags the lever."""
    model, _ = teaching
    variant = model.with_levers({"strikes_authorised": False})
    result = runner.run(variant, 100, 1, workers=1)
    summary = summarise(variant, result.aggregate, "no_strikes")
    page = render_html(variant, summary, {}, {})
    assert "Variant no_strikes (strikes_authorised = false)" in page
    assert "(changed for this run)" in page
    assert "No manifest." in page
