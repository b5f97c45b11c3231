"""The standard figures of a run as PNG bytes, drawn in parallel worker processes.

Drawing and encoding five 1600x900 figures takes a few seconds of one core after the
simulation has finished; on a multi-core machine the figures are drawn by a small pool of
forked processes instead (each imports matplotlib itself, so the parent never pays for it).
The bytes are the same as drawing them one by one. Pure: no printing, no files.
"""

from __future__ import annotations

import multiprocessing as mp
from typing import Any

from ..faults import leave_signals_to_parent
from ..results.summary import Summary
from ..spec.model import Model

BASE = ("rung_probabilities", "incidence", "fan_chart", "outcomes")
LOG_SCALE_BELOW = 0.05


def figure_names(summary: Summary) -> list[str]:
    """Stems of the standard figures of ``summary``, in order.

    When some rung's probability is small (under 5%) yet not zero, an extra
    "incidence_log" figure shows the incidence curves on a log scale, because such curves
    vanish on a linear axis."""
    names = list(BASE)
    if any(0 < line.estimate.p < LOG_SCALE_BELOW for i, line in enumerate(summary.rungs)
           if i != summary.initial_rung):
        names.append("incidence_log")
    return names


_JOB: tuple[Summary, Model] | None = None


def _remember(summary: Summary, model: Model) -> None:
    global _JOB
    _JOB = (summary, model)


def _start_worker(summary: Summary, model: Model) -> None:
    leave_signals_to_parent()
    _remember(summary, model)


def _draw(name: str) -> bytes:
    from .plots import figure, png_bytes
    assert _JOB is not None
    return png_bytes(figure(name, *_JOB))


def standard_pngs(summary: Summary, model: Model, processes: int = 2) -> dict[str, bytes]:
    """Every standard figure as PNG bytes, keyed by stem, drawn by up to ``processes``
    forked processes (one by one here where processes cannot be forked)."""
    names = figure_names(summary)
    processes = min(processes, len(names))
    if processes <= 1 or "fork" not in mp.get_all_start_methods():
        _remember(summary, model)
        return {name: _draw(name) for name in names}
    ctx: Any = mp.get_context("fork")
    with ctx.Pool(processes, initializer=_start_worker, initargs=(summary, model)) as pool:
        images = pool.map(_draw, names, chunksize=1)
        pool.close()  # let the workers exit on their own rather than be terminated
        pool.join()
    return dict(zip(names, images, strict=True))
