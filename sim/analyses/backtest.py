"""Backtests: score a scenario's probabilities and timing against what really happened.

For each judged outcome (and rung) the model gave a probability ``p`` that it would happen
by the horizon; the events file says whether it did (``o`` = 1 or 0).

* **Brier score** ``(p - o)**2``: 0 is perfect, 0.25 is what "50% for everything" earns,
  1 is certain and wrong.
* **Log score** ``ln(p)`` if it happened, ``ln(1 - p)`` if not: 0 is perfect, ``ln 0.5 =
  -0.693`` is a coin flip, and a confident miss costs without limit. A simulated ``p`` of 0
  or 1 would give minus infinity, so ``p`` is taken as ``(k + 0.5) / (n + 1)`` here: the
  model is never treated as more certain than its run count allows.
* **Skill** ``1 - mean Brier / mean Brier of a reference``: above 0 beats the reference.
  References: 0.5 for every outcome (Brier 0.25), and the base rate ``r`` of the case's own
  outcomes (the share that happened; Brier ``r(1 - r)``), a forecaster who knew how many
  would happen but not which. When every outcome went the same way the base rate is
  perfect and the skill against it is undefined (None).
* **Timing percentile** (probability integral transform, PIT): for an outcome that happened
  on day ``d``, the share of the model's runs *in which it happened within the horizon*
  that had it earlier. A well-timed model puts real days anywhere between 0 and 1; below
  0.05 or above 0.95 (outside the central 90%) is flagged as too late or too early. The
  grid counts a run's event in whole days, and an event scheduled on day ``d`` is counted
  with the runs up to ``d``, so the percentile is reported as the middle of the window
  ``[F(d - 1), F(d + 1)]`` of the cumulative curve ``F`` (divided by ``F(horizon)``), and
  flagged only when that middle lies outside the central 90%.

Scores are computed on outcomes; rungs are scored the same way but reported separately
(a rung and an outcome often describe the same fact, and counting it twice would weigh it
twice). Pure: no printing, no files.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..errors import Problem, ScenarioError, UsageError
from ..results.stats import Estimate, wilson
from ..results.summary import Summary
from ..run.runner import Progress
from ..spec.events import Event, Events, Target, events_path, load_events
from ..spec.loader import check_file, load
from ..spec.model import Model

CENTRAL = 0.90
RELIABILITY_EDGES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


class Forecast(NamedTuple):
    """The model's forecast of one outcome or rung: P(by the horizon) and its curve."""

    id: str
    kind: str  # "outcome" or "rung"
    name: str
    estimate: Estimate
    cumulative: np.ndarray  # P(first happened by day d), d = 0..horizon


class Forecasts(NamedTuple):
    """What a run of a scenario (or a results folder) says, as a backtest needs it."""

    scenario: str
    title: str
    start: dt.date
    horizon: float
    runs: int
    initial_rung: int
    rung_ids: tuple[str, ...]
    rung_names: tuple[str, ...]
    items: tuple[Forecast, ...]
    bands: dict[float, np.ndarray]  # rung quantile (index) per day, by probability level

    def find(self, kind: str, item_id: str) -> Forecast:
        """The forecast of one outcome or rung."""
        return next(f for f in self.items if f.kind == kind and f.id == item_id)


def forecasts_of_summary(summary: Summary) -> Forecasts:
    """The backtest's view of a fresh run's Summary."""
    items = [Forecast(line.id, "outcome", line.name, line.estimate, curve.p)
             for line, curve in zip(summary.outcomes, summary.outcome_curves, strict=True)]
    items += [Forecast(line.id, "rung", line.name, line.estimate, curve.p)
              for line, curve in zip(summary.rungs, summary.rung_curves, strict=True)]
    return Forecasts(summary.scenario, summary.title, dt.date.fromisoformat(summary.start),
                     summary.horizon, summary.n, summary.initial_rung,
                     tuple(r.id for r in summary.rungs), tuple(r.name for r in summary.rungs),
                     tuple(items), dict(summary.bands))


def forecasts_of_json(data: dict[str, Any], initial_rung: int) -> Forecasts:
    """The backtest's view of a results folder's ``summary.json`` (KeyError if malformed).

    ``initial_rung`` comes from the scenario (the JSON does not record it).
    """
    runs = int(data["runs"])

    def estimate(block: dict[str, Any]) -> Estimate:
        return wilson(int(block["count"]), runs)

    curves = {("outcome", c["id"]): c["p"] for c in data["outcome_incidence"]}
    curves |= {("rung", c["id"]): c["p"] for c in data["rung_incidence"]}
    items = [Forecast(o["id"], "outcome", o["name"], estimate(o),
                      np.asarray(curves["outcome", o["id"]], dtype=float))
             for o in data["outcomes"]]
    items += [Forecast(r["id"], "rung", r["name"], estimate(r["reach"]),
                       np.asarray(curves["rung", r["id"]], dtype=float))
              for r in data["rungs"]]
    bands = {float(q): np.asarray(v, dtype=int) for q, v in data["rung_bands"].items()}
    return Forecasts(data["scenario"], data["title"], dt.date.fromisoformat(data["start"]),
                     float(data["horizon_days"]), runs, initial_rung,
                     tuple(r["id"] for r in data["rungs"]),
                     tuple(r["name"] for r in data["rungs"]), tuple(items), bands)


# -- single scores -------------------------------------------------------------------------
def brier(p: float, happened: bool) -> float:
    """The Brier score of probability ``p`` for a yes/no event: ``(p - o)**2``."""
    return (p - (1.0 if happened else 0.0)) ** 2


def log_score(p: float, happened: bool) -> float:
    """The natural log of the probability given to what happened (0 is perfect)."""
    q = p if happened else 1.0 - p
    return math.log(q) if q > 0 else -math.inf


def shrunk(est: Estimate) -> float:
    """``(k + 0.5) / (n + 1)``: a simulated probability never quite 0 or 1."""
    return (est.k + 0.5) / (est.n + 1)


class Timing(NamedTuple):
    """Where the real day falls in the model's first-passage distribution."""

    day: int
    low: float  # F(d - 1) / F(horizon)
    high: float  # F(d + 1) / F(horizon)
    percentile: float  # the middle of [low, high]: the PIT
    flag: str  # "" inside the central 90%; "early" (the model expected it later) or "late"


def timing(cumulative: np.ndarray, day: int, central: float = CENTRAL) -> Timing | None:
    """The timing percentile of a real first-happening on ``day`` (None if no run had it).

    ``cumulative[d]`` is the model's P(first happened by day d); the percentile is taken
    among the runs in which it happened within the horizon.
    """
    total = float(cumulative[-1]) if len(cumulative) else 0.0
    if total <= 0:
        return None
    last = len(cumulative) - 1
    low = float(cumulative[day - 1]) / total if day >= 1 else 0.0
    high = float(cumulative[min(day + 1, last)]) / total
    low, high = min(low, 1.0), min(high, 1.0)
    pit = (low + high) / 2
    tail = (1 - central) / 2
    flag = "early" if pit < tail else "late" if pit > 1 - tail else ""
    return Timing(day, low, high, pit, flag)


class Scored(NamedTuple):
    """One judged outcome or rung with the model's forecast and its scores."""

    forecast: Forecast
    event: Event
    brier: float
    brier_low: float  # over the 95% interval of the model's probability
    brier_high: float
    log_score: float
    timing: Timing | None


def score_item(forecast: Forecast, event: Event) -> Scored:
    """Brier (with its range over the probability's interval), log score and timing."""
    est = forecast.estimate
    ends = (brier(est.low, event.happened), brier(est.high, event.happened))
    when = None
    if event.happened and event.day is not None:
        when = timing(forecast.cumulative, event.day)
    return Scored(forecast, event, brier(est.p, event.happened), min(ends), max(ends),
                  log_score(shrunk(est), event.happened), when)


# -- a case --------------------------------------------------------------------------------
class Skill(NamedTuple):
    """Mean Brier of a set of forecasts and its skill against the two references."""

    n: int
    mean_brier: float
    mean_brier_low: float
    mean_brier_high: float
    mean_log: float
    base_rate: float
    skill_half: float  # against 0.5 everywhere (Brier 0.25)
    skill_base: float | None  # against the base rate; None when every outcome went one way


def skill(scored: Sequence[Scored]) -> Skill:
    """Mean scores of ``scored`` and their skill against 0.5 and against the base rate."""
    n = len(scored)
    if n == 0:
        nan = math.nan
        return Skill(0, nan, nan, nan, nan, nan, nan, None)
    mean = sum(s.brier for s in scored) / n
    rate = sum(s.event.happened for s in scored) / n
    ref_base = rate * (1 - rate)
    return Skill(n, mean, sum(s.brier_low for s in scored) / n,
                 sum(s.brier_high for s in scored) / n,
                 sum(s.log_score for s in scored) / n, rate, 1 - mean / 0.25,
                 1 - mean / ref_base if ref_base > 0 else None)


class Case(NamedTuple):
    """A scored scenario: its forecasts, the events file and every score."""

    forecasts: Forecasts
    events: Events
    outcomes: tuple[Scored, ...]
    rungs: tuple[Scored, ...]
    skill: Skill
    rung_skill: Skill
    unjudged: tuple[str, ...]  # the scenario's outcomes the events file does not judge


def score_case(forecasts: Forecasts, events: Events) -> Case:
    """Score every item of ``events`` against ``forecasts``."""
    outcomes = tuple(score_item(forecasts.find("outcome", e.id), e)
                     for e in events.of_kind("outcome"))
    rungs = tuple(score_item(forecasts.find("rung", e.id), e) for e in events.of_kind("rung"))
    judged = {e.id for e in events.of_kind("outcome")}
    unjudged = tuple(f.id for f in forecasts.items if f.kind == "outcome" and f.id not in judged)
    return Case(forecasts, events, outcomes, rungs, skill(outcomes), skill(rungs), unjudged)


# -- pooled --------------------------------------------------------------------------------
class Bin(NamedTuple):
    """One bin of a reliability diagram."""

    low: float
    high: float
    n: int
    mean_forecast: float
    observed: Estimate  # the share that happened, with its 95% Wilson interval


def reliability(scored: Sequence[Scored],
                edges: Sequence[float] = RELIABILITY_EDGES) -> tuple[Bin, ...]:
    """Forecasts binned by probability: the share that happened in each bin.

    A forecast of exactly an inner edge goes to the bin above it; 1.0 to the last bin.
    """
    p = np.array([s.forecast.estimate.p for s in scored], dtype=float)
    o = np.array([s.event.happened for s in scored], dtype=bool)
    index = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
    bins = []
    for b in range(len(edges) - 1):
        mask = index == b
        n = int(mask.sum())
        bins.append(Bin(edges[b], edges[b + 1], n,
                        float(p[mask].mean()) if n else math.nan,
                        wilson(int(o[mask].sum()), n)))
    return tuple(bins)


class Pooled(NamedTuple):
    """Several cases together: pooled skill and the reliability diagram's bins."""

    cases: tuple[Case, ...]
    skill: Skill
    bins: tuple[Bin, ...]
    flagged: int  # timing percentiles outside the central 90%
    timed: int  # outcomes that happened and have a timing percentile


def pool(cases: Sequence[Case]) -> Pooled:
    """Pool the outcomes of several cases (rungs are not pooled: see the module's note)."""
    scored = [s for case in cases for s in case.outcomes]
    timed = [s.timing for s in scored if s.timing is not None]
    return Pooled(tuple(cases), skill(scored), reliability(scored),
                  sum(1 for t in timed if t.flag), len(timed))


def real_path(forecasts: Forecasts, events: Events) -> list[tuple[int, int]]:
    """The real rung path as (day, rung index) steps, starting at the scenario's start.

    From the file's ``path`` when given; otherwise from the dated rungs that happened, each
    raising the rung to at least itself (or, below the start, settling to it), as in the
    model.
    """
    index = {rid: i for i, rid in enumerate(forecasts.rung_ids)}
    steps = [(0, forecasts.initial_rung)]
    if events.path:
        return steps + [(s.day, index[s.rung]) for s in events.path]
    dated = sorted((e.day, index[e.id]) for e in events.of_kind("rung")
                   if e.happened and e.day is not None)
    current = forecasts.initial_rung
    for day, rung in dated:
        current = rung if rung < forecasts.initial_rung else max(current, rung)
        steps.append((day, current))
    return steps


# -- inputs: a fresh run or a results folder ------------------------------------------------
class Judged(NamedTuple):
    """Where a case's forecasts came from, for the record."""

    scenario_path: str
    scenario_sha256: str
    events_path: str
    seed: int
    runs: int
    origin: str  # "run" or the results folder read


def run_forecasts(model: Model, runs: int, seed: int, workers: int | None = None,
                  progress: Progress | None = None) -> Forecasts:
    """Run the scenario as written and return its forecasts."""
    from ..results.summary import summarise
    from ..run import runner
    result = runner.run(model, runs, seed, workers, progress=progress).complete()
    return forecasts_of_summary(summarise(model, result.aggregate))


def folder_forecasts(folder: Path) -> tuple[Forecasts, Model, dict[str, Any]]:
    """Read a results folder of a base run: its forecasts, its scenario and its manifest.

    The scenario file must still be the one that ran (same SHA-256), and the run must be of
    the scenario as written (no variant, no changed lever): a backtest judges the scenario.
    """
    try:
        info = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        data = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        scenario = info["scenario"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{folder}: not a complete results folder (needs manifest.json "
                         f"and summary.json: {exc})") from None
    if info.get("variant", "base") != "base" or info.get("levers_changed"):
        raise UsageError(f"{folder}: a backtest judges the scenario as written, but this run "
                         f"used variant {info.get('variant')!r} with levers changed "
                         f"{info.get('levers_changed') or {}}")
    model = load(scenario["path"])
    if scenario.get("sha256") and model.digest != scenario["sha256"]:
        raise UsageError(f"{folder}: {scenario['path']} has changed since this run (its "
                         "SHA-256 differs from the manifest's); run the scenario again")
    try:
        return forecasts_of_json(data, model.initial_rung), model, {**info,
                                                                    "folder": str(folder)}
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"{folder}/summary.json: missing or malformed field {exc}") from None


def target_of(model: Model) -> Target:
    """What an events file for ``model`` is checked against."""
    return Target(model.id, model.start, model.horizon, tuple(o.id for o in model.outcomes),
                  tuple(r.id for r in model.rungs), model.initial_rung,
                  tuple(key for key, _ in model.sources))


def events_for(model: Model, path: str | Path | None = None) -> Events:
    """The scenario's events file (``path``, else ``events/NAME.yaml`` beside it), checked."""
    where = Path(path) if path is not None else events_path(model.path)
    if path is None and not where.is_file():
        raise UsageError(f"no events file for {model.path}: expected {where} (see "
                         "docs/backtest.md for its format)")
    return load_events(where, target_of(model))


# -- JSON ----------------------------------------------------------------------------------
def _scored_dict(s: Scored) -> dict[str, Any]:
    est = s.forecast.estimate
    return {"id": s.forecast.id, "name": s.forecast.name, "p": est.p,
            "ci95": [est.low, est.high], "happened": s.event.happened, "day": s.event.day,
            "brier": s.brier, "brier_range": [s.brier_low, s.brier_high],
            "log_score": s.log_score,
            "timing": None if s.timing is None else s.timing._asdict(),
            "source": s.event.source, "note": s.event.note}


def case_dict(case: Case, judged: Judged) -> dict[str, Any]:
    """A JSON-ready record of one case: where it came from and every score."""
    return {"scenario": case.forecasts.scenario, "title": case.forecasts.title,
            "start": case.forecasts.start.isoformat(), "horizon_days": case.forecasts.horizon,
            **judged._asdict(), "skill": case.skill._asdict(),
            "rung_skill": case.rung_skill._asdict(),
            "outcomes": [_scored_dict(s) for s in case.outcomes],
            "rungs": [_scored_dict(s) for s in case.rungs],
            "not_judged": list(case.unjudged),
            "real_path": [list(step) for step in real_path(case.forecasts, case.events)]}


def pooled_dict(pooled: Pooled) -> dict[str, Any]:
    """The pooled skill and reliability bins, JSON-ready."""
    return {"skill": pooled.skill._asdict(), "timing_flagged": pooled.flagged,
            "timed": pooled.timed,
            "reliability": [{"low": b.low, "high": b.high, "n": b.n,
                             "mean_forecast": b.mean_forecast, "observed": b.observed.p,
                             "ci95": [b.observed.low, b.observed.high]} for b in pooled.bins]}


def scenario_of_events(path: str | Path) -> Path | None:
    """The scenario an events file judges, by place (``events/NAME.yaml`` -> ``NAME.yaml``
    one folder up), or None if ``path`` is not in an ``events`` folder."""
    where = Path(path)
    if where.parent.name != "events":
        return None
    return where.parent.parent / where.name


def check_events_file(path: str | Path) -> tuple[Events | None, list[Problem]]:
    """Check an events file against the scenario beside its folder: (events, problems)."""
    scenario = scenario_of_events(path)
    if scenario is None or not scenario.is_file():
        return None, [Problem(str(path), 0, "", "an events file must sit in a folder "
                                                "'events' beside its scenario (events/NAME.yaml "
                                                "judges NAME.yaml one folder up)")]
    model, problems, _ = check_file(scenario)
    if model is None:
        return None, [Problem(str(path), 0, "", f"its scenario {scenario} has "
                                                f"{len(problems)} problem(s); fix it first")]
    try:
        return load_events(path, target_of(model)), []
    except ScenarioError as exc:
        return None, exc.problems
