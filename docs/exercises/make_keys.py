"""Write docs/exercises/keys.md: the instructor's keys, every number produced by the tool.

Run from anywhere (no installation needed):

    python docs/exercises/make_keys.py            # about two minutes on 2 cores

It runs each exercise's commands through the Python API (``sim.analyses.compare``,
``sim.analyses.story``, ``sim.analyses.play``) with the same seeds and run counts the
exercises print, so a student who types a command sees exactly the numbers of the key
(results do not depend on the number of worker processes). Rerun it whenever
scenarios/atacms.yaml changes and commit the new keys.md; the header records the
scenario's hash so a stale key is easy to spot.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sim import __version__  # noqa: E402
from sim.analyses import play  # noqa: E402
from sim.analyses.compare import Comparison, compare_variants, parse_grid, sweep  # noqa: E402
from sim.analyses.story import common_paths, find, render  # noqa: E402
from sim.present.tables import pct  # noqa: E402
from sim.results.stats import Difference, Estimate  # noqa: E402
from sim.run.engine import Plan  # noqa: E402
from sim.run.record import Record  # noqa: E402
from sim.spec.loader import load  # noqa: E402
from sim.spec.model import Model  # noqa: E402

SCENARIO = "scenarios/atacms.yaml"
SEED = 1
COMPARE_RUNS = 4000
SWEEP_RUNS = 2000
PATH_RUNS = 2000
PLAY_RUNS = 2000
STORIES = 3
MOVES = "docs/exercises/moves/us_revokes_after_a_month.yaml"
OUT = Path(__file__).resolve().parent / "keys.md"

# Everything the exercises name; checked first, so a renamed id fails loudly here.
NEEDED = {
    "variants": ["no_atacms", "large_atacms_stock", "nk_doubled", "nk_withdrawn", "aid_halved",
                 "aid_withdrawn_after_inauguration", "aid_kept_after_inauguration"],
    "levers": ["atacms_authorised", "atacms_stock", "nk_troops", "us_aid_bn_per_year",
               "new_admin_stance"],
    "outcomes": ["deep_strike", "red_line_response", "nuclear_signalling", "nato_russia_clash",
                 "nuclear_use", "nk_combat", "talks_started", "ceasefire", "ceasefire_collapse",
                 "aid_cut", "atacms_exhausted"],
    "rungs": ["deep_strikes", "foreign_troops_combat", "nuclear_signalling",
              "tactical_nuclear_use"],
    "parameters": ["red_line", "p_major_response", "nk_boost", "aid_leverage"],
}


# -- formatting ---------------------------------------------------------------------------
def p_(e: Estimate) -> str:
    """A probability with as many decimals as its interval supports."""
    return pct(e.p, e.half_width)


def ci(e: Estimate) -> str:
    """Its 95% interval."""
    return f"[{pct(e.low, e.half_width)}, {pct(e.high, e.half_width)}]"


def pts(x: float) -> str:
    """Percentage points with a sign."""
    return f"{x * 100:+.1f}"


def clear(d: Difference) -> bool:
    """The paired 95% interval excludes zero."""
    return d.low > 0 or d.high < 0


def change(d: Difference) -> str:
    """A difference in words, with its paired interval and whether it is clear."""
    if not clear(d):
        return (f"shows no clear change ({pts(d.diff)} points, paired 95% interval "
                f"{pts(d.low)} to {pts(d.high)}, which includes zero)")
    word = "rises" if d.diff > 0 else "falls"
    return (f"{word} by {abs(d.diff) * 100:.1f} points (paired 95% interval {pts(d.low)} to "
            f"{pts(d.high)}: a clear change)")


def md_table(header: Sequence[str], rows: Sequence[Sequence[str]], right_from: int = 1,
             right_to: int = 99) -> str:
    """A Markdown table; columns right_from..right_to-1 are right-aligned."""
    align = ["---:" if right_from <= i < right_to else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# -- what the tool computes -------------------------------------------------------------------
def metric_index(comp: Comparison, kind: str, mid: str) -> int:
    """Index of ('rung' | 'outcome', id) among a comparison's metrics."""
    return comp.metrics.index((kind, mid))


def estimate(comp: Comparison, name: str, kind: str, mid: str) -> Estimate:
    """P(metric) for one model of a comparison."""
    s = comp.summaries[comp.names.index(name)]
    return s.rung(mid) if kind == "rung" else s.outcome(mid)


def diff(comp: Comparison, name: str, kind: str, mid: str) -> Difference:
    """Paired difference name minus base."""
    return comp.differences[comp.names.index(name)][metric_index(comp, kind, mid)]


def label(model: Model, kind: str, mid: str) -> str:
    """A metric's name with its kind."""
    if kind == "rung":
        return f"Reach rung: {model.rungs[model.rung_index(mid)].name}"
    return next(o.name for o in model.outcomes if o.id == mid)


def comparison_table(model: Model, comp: Comparison, variant: str,
                     rows: Sequence[tuple[str, str]]) -> str:
    """Base, variant, paired difference for the chosen metrics."""
    out = []
    for kind, mid in rows:
        b, v = estimate(comp, "base", kind, mid), estimate(comp, variant, kind, mid)
        d = diff(comp, variant, kind, mid)
        out.append([f"{label(model, kind, mid)} (`{mid}`)", p_(b), p_(v), pts(d.diff),
                    f"[{pts(d.low)}, {pts(d.high)}]", "yes" if clear(d) else "no"])
    return md_table(["", "base", variant, "change (points)", "paired 95% interval", "clear?"],
                    out, 1, 4)


def readers(model: Model, name: str) -> list[str]:
    """Every place in the model whose expression reads ``name``, with the expression."""
    found: list[str] = []

    def look(where: str, expr: object) -> None:
        if expr is not None and name in getattr(expr, "names", ()):
            found.append(f"`{where}`: `{getattr(expr, 'text', '')}`")
    for s in model.state:
        look(f"state.{s.id}.initial", s.initial)
    for p in model.processes:
        look(f"processes.{p.id}.rate", p.rate)
        look(f"processes.{p.id}.when", p.when)
        for a, w in zip(p.choice.actions, p.choice.weights, strict=False):
            look(f"processes.{p.id}.choose.{model.actions[a].id}", w)
    for r in model.rules:
        look(f"rules.{r.id}.probability", r.probability)
        look(f"rules.{r.id}.when", r.when)
        for a, w in zip(r.choice.actions, r.choice.weights, strict=False):
            look(f"rules.{r.id}.choose.{model.actions[a].id}", w)
    for item in model.schedule:
        look(f"schedule.{item.id}.when", item.when)
        look(f"schedule.{item.id}.probability", item.probability)
        for a, w in zip(item.choice.actions, item.choice.weights, strict=False):
            look(f"schedule.{item.id}.choose.{model.actions[a].id}", w)
    for action in model.actions:
        for e in action.effects:
            look(f"actions.{action.id}.effects.{e.var}", e.expr)
    return found


def parameter(model: Model, pid: str) -> str:
    """A parameter's distribution and source, for quoting in a key."""
    p = next(p for p in model.parameters if p.id == pid)
    return (f"`{pid}` ~ {p.dist.describe()} (mean {p.dist.mean:.3g}); source: "
            f"{p.source.rstrip('. ')}")


def sweep_section(model: Model, grid: str, metric: str
                  ) -> tuple[str, list[float], Difference]:
    """A sweep as a Markdown table with paired changes against the first grid point."""
    sw = sweep(model, [parse_grid(model, grid)], metric, SWEEP_RUNS, SEED)
    comp = sw.comparison
    kind = "outcome" if ("outcome", metric) in comp.metrics else "rung"
    m = metric_index(comp, kind, metric)
    axis = sw.axes[0]
    rows, ps = [], []
    for i, value in enumerate(axis.values):
        e = estimate(comp, comp.names[i], kind, metric)
        ps.append(e.p)
        d = comp.differences[i][m]
        rows.append([f"{value:g}", p_(e), ci(e),
                     "-" if i == 0 else f"{pts(d.diff)} [{pts(d.low)}, {pts(d.high)}]"])
    table = md_table([axis.lever, f"P({metric})", "95% interval",
                      f"change vs {axis.lever}={axis.values[0]:g} (points, paired)"], rows)
    return table, ps, comp.differences[-1][m]


def shape(ps: Sequence[float], end: Difference) -> str:
    """How a swept probability moves across the grid, in words (half a point of slack)."""
    if not clear(end):
        return (f"does not change clearly across the grid ({ps[0]:.1%} at the first point, "
                f"{ps[-1]:.1%} at the last; paired change {pts(end.low)} to {pts(end.high)} "
                "points)")
    steps = [b - a for a, b in zip(ps, ps[1:], strict=False)]
    up = end.diff > 0
    steady = all((s >= -0.005) if up else (s <= 0.005) for s in steps)
    return (f"{'rises' if up else 'falls'} {'steadily' if steady else 'overall, not at every step'}"
            f" from {ps[0]:.1%} to {ps[-1]:.1%} (paired change at the last point "
            f"{pts(end.diff)} points, 95% interval {pts(end.low)} to {pts(end.high)})")


def fmt_day(model: Model, day: float) -> str:
    """Date and day number."""
    return f"{model.date_of(day).isoformat()} (day {int(day)})"


def first_event(model: Model, rec: Record, action_ids: Sequence[str]) -> float:
    """Day of the first of these actions in a traced record (inf if none)."""
    wanted = {model.action_index(a) for a in action_ids}
    return next((e.day for e in rec.events if e.action in wanted), math.inf)


# -- the exercises --------------------------------------------------------------------------
def exercise_a(model: Model) -> list[str]:
    out = ["## Exercise 1 - Red lines and ATACMS", ""]
    cmd = (f"python -m sim compare {SCENARIO} --variants no_atacms,large_atacms_stock "
           f"--runs {COMPARE_RUNS} --seed {SEED}")
    comp = compare_variants(model, ["no_atacms", "large_atacms_stock"], COMPARE_RUNS, SEED)
    out += [f"`{cmd}`", "",
            comparison_table(model, comp, "no_atacms", [
                ("outcome", "deep_strike"), ("outcome", "red_line_response"),
                ("outcome", "nuclear_signalling"), ("outcome", "nato_russia_clash"),
                ("outcome", "nuclear_use"), ("rung", "deep_strikes")]), "",
            comparison_table(model, comp, "large_atacms_stock", [
                ("outcome", "red_line_response"), ("outcome", "nuclear_signalling"),
                ("outcome", "nato_russia_clash"), ("outcome", "nuclear_use"),
                ("outcome", "atacms_exhausted")]), ""]
    d = {m: diff(comp, "no_atacms", "outcome", m)
         for m in ("nuclear_signalling", "nato_russia_clash", "nuclear_use")}
    out += ["**Q1.** Withholding the authorisation (`no_atacms`): explicit nuclear signalling "
            f"{change(d['nuclear_signalling'])}; a NATO-Russia clash "
            f"{change(d['nato_russia_clash'])}; nuclear use {change(d['nuclear_use'])}. "
            "Students should quote the paired interval, not the two separate intervals, and "
            "notice that small absolute changes in rare outcomes can still be clear because "
            "both arms faced the same dice.", ""]
    rung_no = estimate(comp, "no_atacms", "rung", "deep_strikes")
    out_no = estimate(comp, "no_atacms", "outcome", "deep_strike")
    out += ["**Q2.** Under `no_atacms` the *rung* 'US-supplied missiles strike deep inside "
            f"Russia' is still reached in {p_(rung_no)} of runs while the *outcome* 'ATACMS "
            f"strike inside Russia' happens in {p_(out_no)}. A rung counts as reached when the "
            "crisis stands at it or any higher rung, and the ladder puts 'foreign troops in "
            "combat' and 'nuclear signalling' above it: passing a higher rung passes this "
            "one. To ask 'did deep strikes happen?', read the outcome `deep_strike`. (A good "
            "discussion: is this ladder order right? Are the rungs really ordered, or two "
            "separate dimensions?)", ""]
    big = diff(comp, "large_atacms_stock", "outcome", "red_line_response")
    out += ["**Q3.** With 200 missiles instead of about 50, Russia's major response to deep "
            f"strikes {change(big)}. The mechanism is the uncertain red line: "
            f"{parameter(model, 'red_line')}; and {parameter(model, 'p_major_response')}. "
            "More missiles mean more salvos, so the campaign more often passes a red line "
            "that lies, in many replications, beyond what 50 missiles allow. Where the stock "
            "enters the model:", ""]
    out += [f"- {r}" for r in readers(model, "atacms_stock")] + [""]

    where = "peak >= tactical_nuclear_use"
    cmd = f'python -m sim story {SCENARIO} --where "{where}" --count {STORIES} --seed {SEED}'
    out += [f"`{cmd}`", ""]
    signal = [a.id for a in model.actions  # the actions that switch the nuclear alert on
              if any(e.var == "nuclear_alert" and e.expr.const == 1.0 for e in a.effects)]
    rows = []
    for rec in find(model, SEED, where, 0, STORIES):
        use = rec.first_reach[model.rung_index("tactical_nuclear_use")]
        sig = rec.first_reach[model.rung_index("nuclear_signalling")]
        salvo = model.action_index("atacms_salvo")
        before = sum(1 for e in rec.events if e.action == salvo and e.day <= use)
        k = next(i for i, e in enumerate(rec.events) if e.day == use and
                 model.actions[e.action].rung == model.rung_index("tactical_nuclear_use"))
        prior, rung = None, model.initial_rung
        for e in rec.events[:k]:  # the last event that raised the rung before the use
            if int(e.values["rung"]) > rung:
                prior = e
            rung = int(e.values["rung"])
        just_before = "-" if prior is None else (
            f"{fmt_day(model, prior.day)}: "
            + render(model.actions[prior.action].narrative, prior.values, model, prior.action)
            .removeprefix(model.date_of(prior.day).isoformat() + ": "))
        rows.append([str(rec.replication), fmt_day(model, sig), fmt_day(model, use),
                     f"{use - sig:.0f}", str(before), just_before])
    out += [md_table(["replication", "first at nuclear signalling or higher",
                      "tactical nuclear use",
                      "days between", "ATACMS salvos before use", "last escalation before use"],
                     rows,
                     right_from=2, right_to=5), "",
            f"**Q4.** The first {STORIES} replications meeting `{where}` with seed {SEED} are "
            "listed above. In each, nuclear use comes while Russia's nuclear alert is on: "
            "the process `tactical_nuclear_risk` runs only while `nuclear_alert > 0`, and "
            f"only the actions {', '.join(f'`{s}`' for s in signal)} switch it on (the last "
            "column shows the one that did, or the last escalation before the use). Students "
            "should find the China demarches and the UN calls in each story and ask why they "
            "did not stop it in time, and notice the spread of delays between signalling and "
            "use.", ""]

    cmd = f"python -m sim story {SCENARIO} --paths {PATH_RUNS} --seed {SEED}"
    plan = Plan(model)
    records = [plan.run(SEED, i) for i in range(PATH_RUNS)]
    n, paths = common_paths(model, records, "tactical_nuclear_use")
    via = sum(1 for r in records
              if r.first_reach[model.rung_index("tactical_nuclear_use")] != math.inf
              and any(k == model.rung_index("deep_strikes") for day, k in r.rung_path
                      if day <= r.first_reach[model.rung_index("tactical_nuclear_use")]))
    out += [f"`{cmd}`", "",
            f"**Q5.** Tactical nuclear use is reached in {n} of {PATH_RUNS} runs; in {via} of "
            "those the crisis stood on the deep-strike rung at some point before. The most "
            "common paths:", ""]
    out += [md_table(["path (rung ids)", "share"], [[" -> ".join(p.rungs), f"{p.share:.0%}"]
                                                    for p in paths]), ""]
    if n < 30:
        out += [f"Only {n} runs reach this rung: the shares of paths are rough (each run is "
                f"{1 / max(n, 1):.0%} of them). Ask students how many runs they would need.",
                ""]

    out += _play_key(model)
    return out


def _play_key(model: Model) -> list[str]:
    moves = ROOT / MOVES
    cmd = (f"python -m sim play {SCENARIO} --as us --moves {MOVES} --seed {SEED} "
           f"--replication 0 --runs {PLAY_RUNS}")
    game = play.Game(model, "us", SEED, 0, 30)
    script = play.load_moves(moves, game)
    play.run(game, lambda s, _problem: script.get(s.index, {}))
    standing = play.standing(model, game.record().peak, PLAY_RUNS, SEED)
    default = play.same_dice(model, SEED, 0)
    lines = play.verdict(game, model, standing, default)
    out = [f"`{cmd}`", "",
           "**Q6 (play).** The scripted game (the US revokes the authorisation after the first "
           "month) ends as follows; students playing by hand will differ, but the same dice "
           "make their games comparable with this one and with each other. If the game goes "
           "higher than the default policy on the same dice, discuss why: after a move the "
           "shared random numbers feed different events, so one game is an anecdote and the "
           "`no_atacms` comparison above is the evidence.", ""]
    out += [f"- {line}" for line in lines] + [""]
    return out


def exercise_b(model: Model) -> list[str]:
    out = ["## Exercise 2 - Third-party troops", ""]
    cmd = (f"python -m sim compare {SCENARIO} --variants nk_doubled,nk_withdrawn "
           f"--runs {COMPARE_RUNS} --seed {SEED}")
    comp = compare_variants(model, ["nk_doubled", "nk_withdrawn"], COMPARE_RUNS, SEED)
    rows = [("outcome", "nk_combat"), ("outcome", "ceasefire"), ("outcome", "talks_started"),
            ("outcome", "nuclear_signalling"), ("outcome", "nuclear_use"),
            ("rung", "foreign_troops_combat")]
    out += [f"`{cmd}`", "", comparison_table(model, comp, "nk_doubled", rows), "",
            comparison_table(model, comp, "nk_withdrawn", rows), ""]
    moved = [label(model, k, m) for k, m in rows if k == "outcome"
             and clear(diff(comp, "nk_doubled", k, m))]
    gone = [label(model, k, m) for k, m in rows if k == "outcome"
            and clear(diff(comp, "nk_withdrawn", k, m))]
    out += ["**Q1.** Doubling the contingent clearly changes "
            + ("only: " + "; ".join(moved) if moved else "none of the listed outcomes")
            + ". Withdrawing it clearly changes "
            + ("only: " + "; ".join(gone) if gone else "none of the listed outcomes")
            + f". With doubled troops P(ceasefire) "
            f"{change(diff(comp, 'nk_doubled', 'outcome', 'ceasefire'))}; "
            f"P(nuclear use) {change(diff(comp, 'nk_doubled', 'outcome', 'nuclear_use'))}. "
            "A variant that makes headlines need not move every risk: what a lever changes "
            "is exactly what the scenario wires it to.", ""]
    rung = estimate(comp, "nk_withdrawn", "rung", "foreign_troops_combat")
    nk = estimate(comp, "nk_withdrawn", "outcome", "nk_combat")
    out += [f"**Q2.** With no North Korean troops, the outcome 'North Korean troops in combat' "
            f"happens in {p_(nk)} of runs, yet the rung 'Foreign (third-party) troops in "
            f"combat' is reached in {p_(rung)}: reaching a rung means standing at it or "
            "higher, and nuclear signalling sits above it on the ladder.", ""]

    for metric in ("ceasefire", "nuclear_use"):
        grid = "nk_troops=0:40000:5"
        cmd = (f"python -m sim sweep {SCENARIO} --grid {grid} --metric {metric} "
               f"--runs {SWEEP_RUNS} --seed {SEED}")
        table, ps, end = sweep_section(model, grid, metric)
        out += [f"`{cmd}`", "", table, "",
                f"From no troops to 40,000, P({metric}) {shape(ps, end)}.", ""]
    out += ["**Q3.** The sweeps show where North Korean troops matter in this model. They "
            "act only through these expressions (so they shift the bargaining and the "
            "ground war, not the nuclear rungs directly):", ""]
    out += [f"- {r}" for r in readers(model, "nk_troops")] + [""]
    out += [f"The size of the battlefield effect is itself uncertain: "
            f"{parameter(model, 'nk_boost')}. A good discussion: should foreign troops also "
            "raise the chance of nuclear signalling (for example, as a sign of Russian "
            "weakness) or of a NATO response? What source would support the number?", ""]
    out += ["**Q4.** Neighbouring grid points have overlapping 95% intervals, yet the paired "
            "column shows whether each point differs from the first: every grid point ran "
            "the same replications with the same random numbers, so most runs agree and "
            "only the runs the lever actually changed contribute to the difference.", ""]
    return out


def exercise_c(model: Model) -> list[str]:
    out = ["## Exercise 3 - Aid and the bargaining table", ""]
    variants = ["aid_halved", "aid_withdrawn_after_inauguration", "aid_kept_after_inauguration"]
    cmd = (f"python -m sim compare {SCENARIO} --variants {','.join(variants)} "
           f"--runs {COMPARE_RUNS} --seed {SEED}")
    comp = compare_variants(model, variants, COMPARE_RUNS, SEED)
    rows = [("outcome", "aid_cut"), ("outcome", "talks_started"), ("outcome", "ceasefire"),
            ("outcome", "ceasefire_collapse"), ("outcome", "atacms_exhausted"),
            ("outcome", "red_line_response"), ("outcome", "nuclear_use")]
    out += [f"`{cmd}`", ""]
    for v in variants:
        out += [comparison_table(model, comp, v, rows), ""]
    w = "aid_withdrawn_after_inauguration"
    out += ["**Q1.** Talks: under `aid_halved` P(talks opened) "
            f"{change(diff(comp, 'aid_halved', 'outcome', 'talks_started'))}; under `{w}` "
            f"it {change(diff(comp, w, 'outcome', 'talks_started'))}. P(ceasefire): under "
            f"`aid_halved` it {change(diff(comp, 'aid_halved', 'outcome', 'ceasefire'))}; "
            f"under `{w}` it {change(diff(comp, w, 'outcome', 'ceasefire'))}; keeping aid "
            "(`aid_kept_after_inauguration`) "
            f"{change(diff(comp, 'aid_kept_after_inauguration', 'outcome', 'ceasefire'))}.",
            ""]
    exhausted = diff(comp, w, "outcome", "atacms_exhausted")
    response = diff(comp, w, "outcome", "red_line_response")
    out += [f"**Q2.** Under `{w}`, P(ATACMS stock used up) {change(exhausted)}, and P(Russia's "
            f"major response to deep strikes) {change(response)}. "
            "The reason is in the YAML: the strike campaign's rate is scaled by the aid "
            "actually flowing (an aid pause also stops US targeting support):", ""]
    out += [f"- {r}" for r in readers(model, "aid_level") if "atacms_campaign" in r] + [""]
    out += [f"**Q3.** More ceasefires are not the whole story: a ceasefire collapse under "
            f"`{w}` {change(diff(comp, w, 'outcome', 'ceasefire_collapse'))}. The leverage "
            f"assumption behind the ceasefire effect: {parameter(model, 'aid_leverage')}; "
            "it enters here: "
            + "; ".join(r for r in readers(model, "aid_leverage")) + ". "
            "Ask students whether pressure that produces a ceasefire also produces a durable "
            "one, and what the model would need to say about the terms.", ""]
    for grid in ("new_admin_stance=0:1:5", "us_aid_bn_per_year=0:40:5"):
        cmd = (f"python -m sim sweep {SCENARIO} --grid {grid} --metric ceasefire "
               f"--runs {SWEEP_RUNS} --seed {SEED}")
        table, ps, end = sweep_section(model, grid, "ceasefire")
        lever = grid.split("=")[0]
        out += [f"`{cmd}`", "", table, "",
                f"**Q4 ({lever}).** P(ceasefire) {shape(ps, end)}.", ""]
    where = "ceasefire_collapse"
    cmd = (f'python -m sim story {SCENARIO} --variant {w} --where "{where}" --seed {SEED}')
    variant_model = model.with_levers(dict(model.variant(w).levers))
    rec = next(iter(find(variant_model, SEED, where, 0, 1)), None)
    out += [f"`{cmd}`", ""]
    if rec is None:
        out += ["No replication in the search range meets the condition.", ""]
    else:
        agreed = first_event(variant_model, rec, ["ceasefire_agreed"])
        broke = first_event(variant_model, rec, ["fighting_resumes", "fighting_resumes_with_nk"])
        out += [f"**Q5.** The first such story is replication {rec.replication}: the ceasefire "
                f"is agreed on {fmt_day(model, agreed)} and collapses on "
                f"{fmt_day(model, broke)}, {broke - agreed:.0f} days later; in the end "
                f"{play.ending(variant_model, rec)}.", ""]
    return out


def main() -> None:
    model = load(ROOT / SCENARIO)
    missing = []
    for kind, ids in NEEDED.items():
        have = {"variants": [v.id for v in model.variants],
                "levers": [lv.id for lv in model.levers],
                "outcomes": [o.id for o in model.outcomes],
                "rungs": [r.id for r in model.rungs],
                "parameters": [p.id for p in model.parameters]}[kind]
        missing += [f"{kind}: {i}" for i in ids if i not in have]
    if missing:
        raise SystemExit(f"{SCENARIO} no longer has: {', '.join(missing)}; update the "
                         "exercises and this script")
    head = ["# Instructor's keys", "",
            "<!-- Generated by docs/exercises/make_keys.py: do not edit by hand. -->", "",
            f"Every number below was produced by `python docs/exercises/make_keys.py` from "
            f"`{SCENARIO}` (sha256 `{model.digest[:12]}`) with sim {__version__}, seed "
            f"{SEED}: {COMPARE_RUNS} paired runs per comparison, {SWEEP_RUNS} per sweep "
            f"point, {PATH_RUNS} for the paths. Typing a command shown here gives the same "
            "numbers on any machine and any number of workers. If the scenario's hash has "
            "changed, rerun the script.", "",
            "Percentages carry as many decimals as their interval supports (the terminal "
            "tables may round a row to fewer, e.g. 99% for 99.1%); 'clear?' means the paired "
            "95% interval of the change excludes zero. These are answers *about the model*: "
            "a teaching model, not a forecast.", ""]
    body = exercise_a(model) + exercise_b(model) + exercise_c(model)
    OUT.write_text("\n".join(head + body).rstrip() + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
