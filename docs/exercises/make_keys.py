"""Write docs/exercises/keys.md: the instructor's keys, made from what the students see.

Run from anywhere (no installation needed):

    python docs/exercises/make_keys.py            # a few minutes on 2 cores

Every command of the exercises is run through the command line itself (``sim.cli.main``,
with the same seeds and run counts the exercises print; ``--out``, ``--quiet`` and
``--no-plots`` change no number), its terminal output is copied into the key verbatim, and
every statement of the key is read off that output. Each statement is followed by a hidden
``<!-- claim: {...} -->`` saying what it asserts; ``tests/test_keys.py`` checks every claim
against the output block above it, so a key cannot contradict the terminal. Rerun this
script whenever scenarios/atacms.yaml or the output changes and commit the new keys.md; the
header records the scenario's hash so a stale key is easy to spot.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sim import __version__  # noqa: E402
from sim.cli import main  # noqa: E402
from sim.spec.loader import load  # noqa: E402
from sim.spec.model import Model  # noqa: E402

SCENARIO = "scenarios/atacms.yaml"
SEED = 1
MOVES = "docs/exercises/moves/us_revokes_after_a_month.yaml"
OUT = Path(__file__).resolve().parent / "keys.md"
# While editing this script: MAKE_KEYS_CACHE=/some/folder reuses outputs already computed
# for the same command (never for the committed keys: the scenario may have changed).
CACHE = Path(os.environ["MAKE_KEYS_CACHE"]) if os.environ.get("MAKE_KEYS_CACHE") else None

# Everything the exercises name; checked first, so a renamed id fails loudly here.
NEEDED = {
    "variants": ["no_atacms", "large_atacms_stock", "nk_doubled", "nk_withdrawn", "aid_halved",
                 "aid_withdrawn_after_inauguration", "aid_kept_after_inauguration"],
    "levers": ["atacms_authorised", "atacms_stock", "nk_troops", "us_aid_bn_per_year",
               "new_admin_stance"],
    "parameters": ["red_line", "p_major_response", "nk_boost", "aid_leverage",
                   "ceasefire_fragility"],
}


# -- running the CLI ----------------------------------------------------------------------------
def cli(command: str, workdir: Path) -> str:
    """Run an exercise's command line as the student types it; return what it prints."""
    words = command.split()
    assert words[:3] == ["python", "-m", "sim"], command
    argv = [w.strip('"') for w in re.findall(r'"[^"]*"|\S+', command)][3:]
    extra: list[str] = []
    if argv[0] in ("compare", "sweep"):
        extra = ["--out", str(workdir / f"out{len(list(workdir.iterdir()))}"), "--quiet",
                 "--no-plots"]
    elif argv[0] == "play":
        extra = ["--transcript", str(workdir / f"play{len(list(workdir.iterdir()))}.md"),
                 "--quiet"]
    cache = CACHE / (hashlib.sha256(command.encode()).hexdigest()[:16] + ".txt") \
        if CACHE else None
    if cache is not None and cache.exists():
        text = cache.read_text(encoding="utf-8")
    else:
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            status = main([*argv, *extra])
        if status != 0:
            raise SystemExit(f"{command} exited with {status}")
        text = buffer.getvalue()
        if cache is not None:
            cache.write_text(text, encoding="utf-8")
    return "\n".join(line for line in text.splitlines()
                     if not line.startswith(("Results: ", "Transcript for the debrief")))


# -- reading the output ----------------------------------------------------------------------
class Row(NamedTuple):
    """One line of a comparison table as printed."""

    name: str
    base: str
    other: str
    diff: str
    low: str
    high: str
    clear: bool


ROW = re.compile(r"^(?P<name>.+?)\s{2,}(?P<base>\S+%)\s+(?P<other>\S+%)\s+(?P<diff>\S+) pts\s+"
                 r"\[(?P<low>\S+), (?P<high>\S+)\]\s+(?P<clear>yes|no)$")


def comparison_rows(text: str) -> dict[str, list[Row]]:
    """Variant -> its rows, from `sim compare` output."""
    out: dict[str, list[Row]] = {}
    current = ""
    for line in text.splitlines():
        head = re.match(r"^(\w+)  \(", line)
        if head:
            current = head.group(1)
            out[current] = []
        m = ROW.match(line)
        if m and current:
            out[current].append(Row(m["name"], m["base"], m["other"], m["diff"], m["low"],
                                    m["high"], m["clear"] == "yes"))
    return out


def row(rows: dict[str, list[Row]], variant: str, name: str) -> Row:
    return next(r for r in rows[variant] if r.name == name)


class Point(NamedTuple):
    """One line of a one-lever sweep table as printed."""

    value: str
    p: str
    diff: str
    low: str
    high: str
    clear: bool | None  # None at the first point


def sweep_points(text: str) -> list[Point]:
    points = []
    for line in text.splitlines():
        m = re.match(r"^(\S+)\s+(\S+%)\s+\[\S+, \S+\]\s+(?:-\s+-|(\S+)\s+\[(\S+), (\S+)\]\s+"
                     r"(yes|no))$", line)
        if m:
            clear = None if m[3] is None else m[6] == "yes"
            points.append(Point(m[1], m[2], m[3] or "", m[4] or "", m[5] or "", clear))
    return points


# -- writing statements with their claims ----------------------------------------------------
def claim(sentence: str, **what: Any) -> str:
    """A sentence followed by the claim it makes, for tests/test_keys.py."""
    return f"{sentence}\n<!-- claim: {json.dumps(what, ensure_ascii=False)} -->"


def change(r: Row) -> str:
    """A printed row in words, with its paired interval and whether it is clear."""
    if not r.clear:
        return (f"shows no clear change ({r.diff} points, paired 95% interval {r.low} to "
                f"{r.high})")
    word = "rises" if r.diff.startswith("+") else "falls"
    return (f"{word} by {r.diff.lstrip('+-')} points (paired 95% interval {r.low} to "
            f"{r.high}: a clear change)")


def row_claim(rows: dict[str, list[Row]], variant: str, name: str, lead: str) -> str:
    r = row(rows, variant, name)
    return claim(f"{lead} {change(r)}.", kind="row", variant=variant, name=name, diff=r.diff,
                 low=r.low, high=r.high, clear=r.clear)


def clear_claim(rows: dict[str, list[Row]], variant: str, lead: str) -> str:
    names = [r.name for r in rows[variant] if r.clear]
    listed = "; ".join(names) if names else "nothing"
    return claim(f"{lead} (`{variant}`), the table marks these changes clear: {listed}.",
                 kind="clear_set", variant=variant, names=names)


def word_claim(rows: dict[str, list[Row]], variant: str, word: str, lead: str) -> str:
    """Which of a variant's clear changes mention ``word`` (e.g. nuclear), as a claim."""
    names = [r.name for r in rows[variant] if r.clear and word in r.name.lower()]
    text = (f"{lead}: none of the clear changes is about {word} risk." if not names else
            f"{lead}: the clear changes about {word} risk are: {'; '.join(names)}.")
    return claim(text, kind="word", variant=variant, word=word, names=names)


def output_block(command: str, text: str, folded: bool = False) -> list[str]:
    block = ["```text", f"$ {command}", text.rstrip(), "```"]
    if folded:
        return ["<details><summary>Full output</summary>", "", *block, "", "</details>", ""]
    return [*block, ""]


def sweep_statement(points: Sequence[Point], lever: str, metric: str) -> str:
    """What the printed paired column says about the shape, in words, with its claim."""
    clear = [p.value for p in points[1:] if p.clear]
    unclear = [p.value for p in points[1:] if not p.clear]
    first = points[0]
    signs = sorted({"up" if p.diff.startswith("+") else "down" for p in points[1:] if p.clear})
    jump = None
    if not clear:
        text = (f"P({metric}) is {first.p} at {lever}={first.value}, and no other point "
                "differs clearly from it (every paired interval includes zero).")
    else:
        last = points[-1]
        direction = {"up": "higher", "down": "lower"}.get(signs[0], "") if len(signs) == 1 \
            else "higher at some points and lower at others"
        text = (f"P({metric}) is {first.p} at {lever}={first.value}. "
                + (f"No clear change at {', '.join(unclear)}; " if unclear else "")
                + f"clearly {direction} than the first point at {', '.join(clear)} "
                f"(at {last.value}: {last.diff} points, paired 95% interval {last.low} to "
                f"{last.high}).")
        jump = one_big_step(points)
        if jump is not None:
            a, b, size = jump
            text += (f" Most of the change comes in one step, from {a} to {b} ({size:+.1f} of "
                     f"{last.diff} points): not a straight line.")
        else:
            text += (" The change builds up in steps of similar size (read off the printed "
                     "changes): close to a straight line over this grid.")
    return claim(text, kind="sweep", lever=lever, clear=clear, signs=signs, first=first.p,
                 jump=None if jump is None else [jump[0], jump[1]])


def one_big_step(points: Sequence[Point]) -> tuple[str, str, float] | None:
    """(from, to, size) when one step between neighbouring printed changes is larger than
    all the other steps together, else None."""
    changes = [0.0] + [float(p.diff) for p in points[1:]]
    steps = [b - a for a, b in zip(changes, changes[1:], strict=False)]
    if len(steps) < 2:
        return None
    k = max(range(len(steps)), key=lambda i: abs(steps[i]))
    rest = sum(abs(s) for i, s in enumerate(steps) if i != k)
    if abs(steps[k]) <= rest:
        return None
    return points[k].value, points[k + 1].value, steps[k]


# -- model facts quoted from the YAML ----------------------------------------------------------
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


# -- stories -------------------------------------------------------------------------------
LINE = re.compile(r"^(\d{4}-\d\d-\d\d)  \(day\s+[\d.]+\)  (.*)$")


def story_lines(text: str) -> list[list[tuple[str, str]]]:
    """Each story of `sim story` output as (date, text) lines; rung changes are lines too."""
    stories: list[list[tuple[str, str]]] = []
    date = ""
    for line in text.splitlines():
        if line.startswith("== "):
            stories.append([])
        m = LINE.match(line)
        if m:
            date = m[1]
            stories[-1].append((m[1], m[2]))
        elif "[UP]" in line or "[DOWN]" in line:
            stories[-1].append((date, line.strip()))
    return stories


def days_between(a: str, b: str) -> int:
    return (dt.date.fromisoformat(b) - dt.date.fromisoformat(a)).days


# -- the exercises -----------------------------------------------------------------------------
def exercise_a(model: Model, work: Path) -> list[str]:
    out = ["## Exercise 1 - Red lines and ATACMS", ""]
    cmd = ("python -m sim compare scenarios/atacms.yaml --variants no_atacms,large_atacms_stock "
           "--runs 4000 --seed 1")
    text = cli(cmd, work)
    rows = comparison_rows(text)
    out += output_block(cmd, text)
    out += ["**Q1.** Withholding the authorisation (`no_atacms`): "
            + " ".join([
                row_claim(rows, "no_atacms", "Explicit nuclear signalling",
                          "explicit nuclear signalling (the outcome)"),
                row_claim(rows, "no_atacms", "NATO-Russia clash or strike on NATO territory",
                          "A NATO-Russia clash"),
                row_claim(rows, "no_atacms", "Nuclear use (tactical or strategic)",
                          "Nuclear use")]),
            "", clear_claim(rows, "no_atacms", "In all, under no authorisation"),
            "", "Students should quote the paired interval, not the two separate intervals, "
            "and notice that small absolute changes in rare outcomes can still be clear "
            "because both arms faced the same dice.", ""]
    rung = row(rows, "no_atacms", "US-supplied missiles strike deep inside Russia (rung)")
    event = row(rows, "no_atacms", "ATACMS strike inside Russia")
    out += [claim(f"**Q2.** Under `no_atacms` the *rung* 'US-supplied missiles strike deep "
                  f"inside Russia' is still reached in {rung.other} of runs while the "
                  f"*outcome* 'ATACMS strike inside Russia' happens in {event.other}.",
                  kind="values", variant="no_atacms",
                  values={rung.name: rung.other, event.name: event.other}),
            "A rung counts as reached when the crisis stands at it or any higher rung, and "
            "the ladder puts 'foreign troops in combat' and 'nuclear signalling' above it: "
            "passing a higher rung passes this one. To ask 'did deep strikes happen?', read "
            "the outcome. (A good discussion: is this ladder order right? Are the rungs "
            "really ordered, or two separate dimensions?)", ""]
    out += [row_claim(rows, "large_atacms_stock", "Russia's major response to deep strikes",
                      "**Q3.** With 200 missiles instead of about 50, Russia's major response "
                      "to deep strikes"),
            "", f"The mechanism is the uncertain red line: {parameter(model, 'red_line')}; and "
            f"{parameter(model, 'p_major_response')}. More missiles mean more salvos, so the "
            "campaign more often passes a red line that lies, in many replications, beyond "
            "what 50 missiles allow. Where the stock enters the model:", ""]
    out += [f"- {r}" for r in readers(model, "atacms_stock")] + [""]
    out += _stories_key(work)
    out += _paths_key(work)
    out += _play_key(work)
    return out


def _stories_key(work: Path) -> list[str]:
    cmd = ('python -m sim story scenarios/atacms.yaml --where "peak >= tactical_nuclear_use" '
           "--count 3 --seed 1")
    text = cli(cmd, work)
    heads = re.findall(r"replication (\d+), seed", text)
    rows, claims = [], []
    for rep, lines in zip(heads, story_lines(text), strict=True):
        signal = next(d for d, t in lines if "[UP]" in t and ("nuclear" in t or "NATO" in t))
        use = next(d for d, t in lines if "detonates" in t)
        salvos = sum(1 for d, t in lines if "ATACMS salvo" in t and d <= use)
        rows.append(f"| {rep} | {signal} | {use} | {days_between(signal, use)} | {salvos} |")
        claims.append({"replication": rep, "first_signal": signal, "use": use,
                       "days": days_between(signal, use), "salvos": salvos})
    out = [f"`{cmd}` (the three stories, as printed, are folded below)", ""]
    out += output_block(cmd, text, folded=True)
    out += ["| replication | first at nuclear signalling or higher | tactical nuclear use | "
            "days between | ATACMS salvos up to the use |", "| --- | --- | --- | ---: | ---: |",
            *rows, ""]
    out += [claim("**Q4.** The table is read off the stories above (dates as printed; days "
                  "between two printed dates). In each, nuclear use comes while Russia's "
                  "nuclear alert is on: the process `tactical_nuclear_risk` runs only while "
                  "`nuclear_alert > 0`. After the detonation the scenario stops modelling the "
                  "war's routine (no more aid tranches, offensives or talks): only NATO's "
                  "answer, China, the UN and a possible strategic exchange follow.",
                  kind="stories", stories=claims),
            "", "Students should find the China demarches and the UN calls in each story and "
            "ask why they did not stop it in time, and notice the spread of delays between "
            "signalling and use. `--short` gives the same stories with the routine repeats "
            "folded, `--html story.html` as a page for the projector.", ""]
    return out


def _paths_key(work: Path) -> list[str]:
    cmd = "python -m sim story scenarios/atacms.yaml --paths 2000 --seed 1"
    text = cli(cmd, work)
    section = text.split("Paths to 'Tactical (non-strategic) nuclear use'")[1].split(
        "\nPaths to")[0]
    section = "Paths to 'Tactical (non-strategic) nuclear use'" + section
    reached = re.search(r"reached in (\d+) of (\d+) runs", section)
    via = re.search(r"'US-supplied missiles strike deep inside Russia' (\d+)", section)
    assert reached and via
    n, total, deep = int(reached[1]), int(reached[2]), int(via[1])
    out = [f"`{cmd}` (the part on tactical nuclear use; the rest is folded below)", "",
           "```text", section.strip(), "```", ""]
    out += output_block(cmd, text, folded=True)
    out += [claim(f"**Q5.** Tactical nuclear use is reached in {n} of {total} runs; in {deep} "
                  "of those the crisis stood on the deep-strike rung before (the line "
                  "\"how many stood on each rung before\"). The printed paths are only the five "
                  f"most common; each run is {1 / max(n, 1):.0%} of the {n}, so the shares are "
                  "rough: ask students how many runs they would need, and try `--paths "
                  "20000`.", kind="texts",
                  texts=[f"reached in {n} of {total} runs",
                         f"'US-supplied missiles strike deep inside Russia' {deep}"]), ""]
    return out


def _play_key(work: Path) -> list[str]:
    cmd = (f"python -m sim play {SCENARIO} --as us --moves {MOVES} --seed {SEED} "
           "--replication 0 --runs 2000")
    text = cli(cmd, work)
    end = text[text.index("== The end =="):]
    out = [f"`{cmd}` (the end of the game; the whole game is folded below)", "",
           "```text", end.strip(), "```", ""]
    out += output_block(cmd, text, folded=True)
    out += ["**Q6 (play).** The scripted game (the US revokes the authorisation after the "
            "first month) ends as printed above; students playing by hand will differ, but "
            "the same dice make their games comparable with this one and with each other. "
            "If a game goes higher than the default policy on the same dice, discuss why: "
            "after a move the shared random numbers feed different events, so one game is an "
            "anecdote and the `no_atacms` comparison above is the evidence.", ""]
    return out


def exercise_b(model: Model, work: Path) -> list[str]:
    out = ["## Exercise 2 - Third-party troops", ""]
    cmd = ("python -m sim compare scenarios/atacms.yaml --variants nk_doubled,nk_withdrawn "
           "--runs 4000 --seed 1")
    text = cli(cmd, work)
    rows = comparison_rows(text)
    out += output_block(cmd, text)
    out += [clear_claim(rows, "nk_doubled", "**Q1.** Doubling the contingent"), "",
            clear_claim(rows, "nk_withdrawn", "Withdrawing it"), "",
            row_claim(rows, "nk_doubled", "Nuclear use (tactical or strategic)",
                      "With doubled troops P(nuclear use)"),
            "", *[word_claim(rows, v, "nuclear", lead) for v, lead in
                  (("nk_doubled", "Doubling"), ("nk_withdrawn", "Withdrawing"))],
            "", "A variant that makes "
            "headlines need not move every risk: what a lever changes is exactly what the "
            "scenario wires it to. Ask students to trace each clear change to an expression "
            "(Q3); a clear change of a few tenths of a point is real in the model and still "
            "small.", ""]
    nk = row(rows, "nk_withdrawn", "North Korean troops in combat")
    rung = row(rows, "nk_withdrawn", "Foreign (third-party) troops in combat (rung)")
    out += [claim(f"**Q2.** With no North Korean troops, the outcome 'North Korean troops in "
                  f"combat' happens in {nk.other} of runs, yet the rung 'Foreign "
                  f"(third-party) troops in combat' is reached in {rung.other}: reaching a rung "
                  "means standing at it or higher, and nuclear signalling sits above it on the "
                  "ladder.", kind="values", variant="nk_withdrawn",
                  values={nk.name: nk.other, rung.name: rung.other}), ""]
    for metric in ("ceasefire", "nuclear_use"):
        cmd = (f"python -m sim sweep scenarios/atacms.yaml --grid nk_troops=0:40000:5 "
               f"--metric {metric} --runs 2000 --seed 1")
        text = cli(cmd, work)
        out += output_block(cmd, text)
        out += [sweep_statement(sweep_points(text), "nk_troops", metric), ""]
    out += ["**Q3.** The sweeps show where North Korean troops matter in this model. They "
            "act only through these expressions (so they shift the bargaining and the "
            "ground war, not the nuclear rungs directly):", ""]
    out += [f"- {r}" for r in readers(model, "nk_troops")] + [""]
    out += [f"The size of the battlefield effect is itself uncertain: "
            f"{parameter(model, 'nk_boost')}. A good discussion: should foreign troops also "
            "raise the chance of nuclear signalling (for example, as a sign of Russian "
            "weakness) or of a NATO response? What source would support the number?", ""]
    out += ["**Q4.** Neighbouring grid points have overlapping 95% intervals, yet the paired "
            "columns show whether each point differs from the first: every grid point ran "
            "the same replications with the same random numbers, so most runs agree and "
            "only the runs the lever actually changed contribute to the difference.", ""]
    return out


def exercise_c(model: Model, work: Path) -> list[str]:
    out = ["## Exercise 3 - Aid and the bargaining table", ""]
    w = "aid_withdrawn_after_inauguration"
    cmd = ("python -m sim compare scenarios/atacms.yaml --variants aid_halved,"
           f"{w},aid_kept_after_inauguration --runs 4000 --seed 1")
    text = cli(cmd, work)
    rows = comparison_rows(text)
    out += output_block(cmd, text)
    out += ["**Q1.** " + " ".join([
        row_claim(rows, "aid_halved", "Talks opened", "Under `aid_halved` P(talks opened)"),
        row_claim(rows, w, "Talks opened", f"Under `{w}` it"),
        row_claim(rows, "aid_halved", "Ceasefire agreed", "P(ceasefire) under `aid_halved`"),
        row_claim(rows, w, "Ceasefire agreed", f"Under `{w}` it"),
        row_claim(rows, "aid_kept_after_inauguration", "Ceasefire agreed",
                  "Keeping aid (`aid_kept_after_inauguration`) it")]), ""]
    out += ["**Q2.** " + " ".join([
        row_claim(rows, w, "ATACMS stock used up", f"Under `{w}`, P(ATACMS stock used up)"),
        row_claim(rows, w, "Russia's major response to deep strikes",
                  "P(Russia's major response to deep strikes)")]),
            "", "The reason is in the YAML: the strike campaign's rate is scaled by the aid "
            "actually flowing (an aid pause also stops US targeting support):", ""]
    out += [f"- {r}" for r in readers(model, "aid_level") if "atacms_campaign" in r] + [""]
    out += [row_claim(rows, w, "A ceasefire collapsed",
                      f"**Q3.** More ceasefires are not the whole story: under `{w}` P(a "
                      "ceasefire collapses)"),
            "", f"The leverage assumption behind the ceasefire effect: "
            f"{parameter(model, 'aid_leverage')}; it enters here: "
            + "; ".join(readers(model, "aid_leverage")) + ". Ask students whether pressure "
            "that produces a ceasefire also produces a durable one, and what the model would "
            "need to say about the terms.", ""]
    for lever, grid in (("new_admin_stance", "0:1:5"), ("us_aid_bn_per_year", "0:40:5")):
        cmd = (f"python -m sim sweep scenarios/atacms.yaml --grid {lever}={grid} "
               "--metric ceasefire --runs 2000 --seed 1")
        text = cli(cmd, work)
        out += output_block(cmd, text)
        out += [f"**Q4 ({lever}).** " + sweep_statement(sweep_points(text), lever,
                                                          "ceasefire"), ""]
    cmd = (f'python -m sim story scenarios/atacms.yaml --variant {w} --where '
           '"ceasefire_collapse" --seed 1')
    text = cli(cmd, work)
    lines = story_lines(text)[0]
    rep = re.search(r"replication (\d+), seed", text)
    agreed = next(d for d, t in lines if "ceasefire" in t.lower() and "agree" in t.lower())
    broke = next(d for d, t in lines if "ceasefire collapses" in t.lower())
    end = next(t for d, t in reversed(lines) if not t.startswith("["))
    out += output_block(cmd, text, folded=True)
    out += [claim(f"**Q5.** The first such story is replication {rep[1] if rep else '?'}: the "
                  f"ceasefire is agreed on {agreed} and collapses on {broke}, "
                  f"{days_between(agreed, broke)} days later (the difference of the two "
                  f"printed dates). In the end: {end}", kind="dates", agreed=agreed,
                  broke=broke, days=days_between(agreed, broke)),
            "", "The process that ends it is `ceasefire_breaks_down`, whose rate comes from "
            f"the parameter {parameter(model, 'ceasefire_fragility')}.", ""]
    return out


def main_() -> None:
    model = load(ROOT / SCENARIO)
    missing = []
    for kind, ids in NEEDED.items():
        have = {"variants": [v.id for v in model.variants],
                "levers": [lv.id for lv in model.levers],
                "parameters": [p.id for p in model.parameters]}[kind]
        missing += [f"{kind}: {i}" for i in ids if i not in have]
    if missing:
        raise SystemExit(f"{SCENARIO} no longer has: {', '.join(missing)}; update the "
                         "exercises and this script")
    head = ["# Instructor's keys", "",
            "<!-- Generated by docs/exercises/make_keys.py: do not edit by hand. -->", "",
            f"Every number below was printed by the command shown above it, run by "
            f"`python docs/exercises/make_keys.py` from `{SCENARIO}` (sha256 "
            f"`{model.digest[:12]}`) with sim {__version__}. Typing a command gives the same "
            "output on any machine and any number of workers. If the scenario's hash has "
            "changed, rerun the script.", "",
            "Each output is copied here as the terminal shows it, and every statement is read "
            "off it (`tests/test_keys.py` checks each one against its output). 'Clear' means "
            "what the table's `clear?` column says: the paired 95% interval, as printed, "
            "excludes zero. These are answers *about the model*: a teaching model, not a "
            "forecast.", ""]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        body = exercise_a(model, work) + exercise_b(model, work) + exercise_c(model, work)
    OUT.write_text("\n".join(head + body).rstrip() + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main_()
