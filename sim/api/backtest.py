"""The ``backtest`` workflow: score scenarios against what really happened.

Each input is a scenario file (run as written) or a results folder of a base run (read);
each is scored against its events file, the cases are pooled, and :func:`save_backtest`
writes the JSON, plots, page and manifest. Nothing here prints.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..analyses import backtest as bt
from ..errors import UsageError
from ..present.output import safe_name, staged_folder, versions, write_json
from ..spec.loader import load
from .basics import RESULTS

DEFAULT_RUNS = 4000
Announce = Callable[[str, int, int], None]  # (scenario id, runs, seed) before a run starts


@dataclass(frozen=True)
class Backtest:
    """Every scored case, what it was judged on, the pooled scores and their tables."""

    scored: tuple[tuple[Any, Any], ...]  # (Case, Judged) per input
    pooled: Any
    texts: tuple[str, ...]  # one table per case, then the pooled table

    @property
    def cases(self) -> list[Any]:
        return [case for case, _ in self.scored]


def _inputs(inputs: Sequence[str | Path], events: str | None) -> list[tuple[Any, Any, Any]]:
    """Load every input and check its events file before anything runs."""
    out: list[tuple[Any, Any, Any]] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            forecasts, model, info = bt.folder_forecasts(path)
            out.append((model, bt.events_for(model, events), (forecasts, info)))
        else:
            model = load(path)
            out.append((model, bt.events_for(model, events), None))
    return out


def backtest(inputs: Sequence[str | Path], *, events: str | None = None,
             runs: int = DEFAULT_RUNS, seed: int | None = None, workers: int | None = None,
             announce: Announce | None = None) -> Backtest:
    """Score scenario files or results folders against their events files (``events``:
    one events file for a single input; default ``events/NAME.yaml`` beside each)."""
    from ..present.backtest_tables import case_table, pooled_table
    if events and len(inputs) > 1:
        raise UsageError("an explicit events file goes with one scenario; leave it out to "
                         "use each scenario's events/NAME.yaml")
    scored = []
    for model, evs, read in _inputs(inputs, events):
        if read is not None:
            forecasts, info = read
            used, origin = int(info.get("seed", 0)), str(info.get("folder", "results folder"))
        else:
            used = model.seed if seed is None else seed
            if announce is not None:
                announce(model.id, runs, used)
            forecasts = bt.run_forecasts(model, runs, used, workers)
            origin = "run"
        judged = bt.Judged(model.path, model.digest, evs.file, used, forecasts.runs, origin)
        scored.append((bt.score_case(forecasts, evs), judged))
    cases = [case for case, _ in scored]
    pooled = bt.pool(cases)
    texts = tuple(case_table(case) for case in cases) + (pooled_table(pooled),)
    return Backtest(tuple(scored), pooled, texts)


def save_backtest(result: Backtest, out: str | Path | None = None, *, force: bool = False,
                  plots: bool = True, command: str = "", root: Path = RESULTS) -> Path:
    """Write backtest.json, the plots, report.html and the manifest; return the folder
    (``out``, else ``root/backtest-<time>``)."""
    from ..present.backtest_tables import backtest_page
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    target, unique = (Path(out), False) if out else (root / f"backtest-{stamp}", True)
    command = command or "(from Python: sim.api)"
    with staged_folder(target, force, unique) as stage:
        write_json(stage.path / "backtest.json",
                   {"command": command,
                    "cases": [bt.case_dict(c, j) for c, j in result.scored],
                    "pooled": bt.pooled_dict(result.pooled)})
        images = _write_plots(stage.path, result.cases, result.pooled) if plots else []
        (stage.path / "report.html").write_text(backtest_page(list(result.texts), images),
                                                encoding="utf-8")
        write_json(stage.path / "manifest.json",  # last: its presence means "complete"
                   {"status": "complete", "kind": "backtest", "command": command,
                    "cases": [j._asdict() for _, j in result.scored], "versions": versions(),
                    "finished": dt.datetime.now().isoformat(timespec="seconds")})
    return stage.target


def _write_plots(folder: Path, cases: list[Any], pooled: Any) -> list[tuple[str, bytes]]:
    from ..present.backtest_plots import case_figure, reliability_figure
    from ..present.plots import png_bytes
    images = []
    figures = [(f"backtest_{safe_name(c.forecasts.scenario)}", case_figure(c)) for c in cases]
    figures.append(("reliability", reliability_figure(pooled)))
    for name, fig in figures:
        png = png_bytes(fig)
        (folder / f"{name}.png").write_bytes(png)
        images.append((name, png))
    return images
