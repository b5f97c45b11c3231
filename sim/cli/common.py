"""What every command shares: the error stream, the progress bar, and the
one shape of the analysis commands (compute, save, print the table and the folder)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ..api import Analysis, Progress, save
from .stops import exit_code, stop_lines


def err(message: str) -> None:
    """A line on standard error."""
    print(message, file=sys.stderr)


def progress_callback(args: argparse.Namespace, label: str
                      ) -> tuple[Progress | None, Callable[[], None]]:
    """A tqdm progress callback on stderr (only on a terminal and without --quiet) and its
    closer; (None, no-op) when there is no bar to show."""
    if getattr(args, "quiet", False) or not sys.stderr.isatty():
        return None, lambda: None
    from tqdm import tqdm
    bar: Any = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc=label, unit="run", file=sys.stderr, leave=False)
        bar.update(done - bar.n)

    def close() -> None:
        if bar is not None:
            bar.close()
    return update, close


@contextmanager
def progress_bar(args: argparse.Namespace, label: str, enabled: bool = True
                 ) -> Iterator[Progress | None]:
    """:func:`progress_callback` as a context: the bar is closed whatever happens."""
    update, close = progress_callback(args, label) if enabled else (None, lambda: None)
    try:
        yield update
    finally:
        close()


def analysis_command(args: argparse.Namespace, label: str,
                     work: Callable[[Progress | None], Analysis]) -> int:
    """Compute an analysis with a progress bar, save its folder, print table and folder."""
    with progress_bar(args, label) as update:
        analysis = work(update)
    folder, stop = save(analysis, args.out, force=args.force, plots=not args.no_plots)
    print(analysis.text)
    print("\n" + (analysis.note + "\n" if analysis.note else "") + f"Results: {folder}")
    if stop is not None:
        err(stop_lines(stop, analysis.kept, folder))
    return exit_code(stop)


def scenario_label(args: argparse.Namespace, what: str) -> str:
    """A progress label: the scenario file's stem and what runs."""
    from pathlib import Path
    return f"{Path(args.scenario).stem} {what}"
