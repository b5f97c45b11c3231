"""The results folder: atomic writes, manifest, per-replication CSV, summary JSON.

Everything is written into a hidden temporary sibling folder and renamed into place at the
end, so an interrupted run never leaves a folder that looks complete. Names derived from
scenario text are sanitised so that no file lands outside its folder.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import os
import platform
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO

from ..errors import UsageError
from ..run.record import Record
from ..spec.model import Model

_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def safe_name(text: str, fallback: str = "run") -> str:
    """A file or folder name made only of letters, digits, '_', '-' and '.' (no '..')."""
    name = _SAFE.sub("-", text).strip(".-")[:80]
    return name if name and name not in (".", "..") else fallback


def inside(folder: Path, name: str) -> Path:
    """``folder/name`` after checking that it cannot escape ``folder``."""
    target = (folder / name).resolve()
    if folder.resolve() not in target.parents:
        raise UsageError(f"refusing to write {name!r} outside {folder}")
    return target


def unused_path(folder: Path, stem: str, suffix: str = "") -> Path:
    """``folder/stem+suffix``, or with -2, -3, ... before the suffix if that exists."""
    candidate = folder / f"{stem}{suffix}"
    counter = 2
    while candidate.exists():
        candidate = folder / f"{stem}-{counter}{suffix}"
        counter += 1
    return candidate


def default_folder(root: Path, model: Model, variant: str) -> Path:
    """results/<scenario>[-<variant>]-<timestamp>, made unique with a counter."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    stem = safe_name(model.id if variant == "base" else f"{model.id}-{variant}")
    return unused_path(root, f"{stem}-{stamp}")


def versions() -> dict[str, str]:
    """Versions of Python and of the packages that shape the numbers."""
    out = {"python": platform.python_version()}
    for package in ("escalation-sim", "numpy", "scipy", "simpy", "matplotlib", "PyYAML"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = "not installed"
    return out


class Stage:
    """A temporary folder and the final name it will be moved to (which may change)."""

    def __init__(self, path: Path, target: Path) -> None:
        self.path = path
        self.target = target


@contextmanager
def staged_folder(target: Path, force: bool) -> Iterator[Stage]:
    """Yield a Stage; on success, move its folder to ``stage.target`` atomically.

    An existing non-empty target is an error unless ``force``; then it is replaced only
    after the new folder is complete. On any failure the temporary folder is removed.
    """
    target = target.resolve()
    _check_free(target, force)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.parent / f".{target.name}.incomplete-{os.getpid()}"
    if temp.exists():
        shutil.rmtree(temp)
    temp.mkdir()
    stage = Stage(temp, target)
    try:
        yield stage
        final = stage.target.resolve()
        _check_free(final, force)
        if final.exists():
            old = final.parent / f".{final.name}.old-{os.getpid()}"
            final.rename(old)
            temp.rename(final)
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink()
        else:
            temp.rename(final)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


def _check_free(target: Path, force: bool) -> None:
    if not target.exists() or (target.is_dir() and not any(target.iterdir())):
        return
    if not force:
        raise UsageError(f"{target} already exists; choose another --out or add --force "
                         "to replace it")
    # --force replaces only what this tool wrote: a results folder (it has a manifest) or a
    # plain file; never a folder holding the current directory or other work.
    cwd = Path.cwd().resolve()
    if target.is_dir() and (cwd == target or target in cwd.parents):
        raise UsageError(f"refusing to replace {target}: it contains the current directory")
    if target.is_dir() and not (target / "manifest.json").is_file():
        raise UsageError(f"refusing to replace {target} even with --force: it is not a "
                         "results folder written by this tool (no manifest.json)")


def csv_header(model: Model) -> list[str]:
    """Columns of the per-replication table."""
    return (["replication", "peak_rung", "final_rung", "end_day", "terminal"]
            + [f"reach_day.{r.id}" for r in model.rungs]
            + [f"outcome_day.{o.id}" for o in model.outcomes]
            + [f"count.{a.id}" for a in model.actions]
            + [f"state.{s.id}" for s in model.state]
            + [f"param.{p.id}" for p in model.parameters])


def _day(value: float) -> str:
    return "" if math.isinf(value) else f"{value:.4f}"


def csv_row(model: Model, rec: Record) -> list[Any]:
    """One replication as a CSV row; never-reached days are empty (censored)."""
    return ([rec.replication, model.rungs[rec.peak].id, model.rungs[rec.final_rung].id,
             f"{rec.end_day:.4f}", rec.terminal]
            + [_day(t) for t in rec.first_reach]
            + [_day(t) for t in rec.outcome_days]
            + list(rec.action_counts)
            + [f"{v:.6g}" for v in rec.final_state]
            + [f"{v:.6g}" for v in rec.parameters])


class CsvSink:
    """Streams records to a CSV file chunk by chunk (nothing is kept in memory)."""

    def __init__(self, model: Model, stream: TextIO) -> None:
        self.model = model
        self.writer = csv.writer(stream)
        self.writer.writerow(csv_header(model))

    def __call__(self, records: list[Record]) -> None:
        self.writer.writerows(csv_row(self.model, r) for r in records)


def write_json(path: Path, data: Any) -> None:
    """Write JSON with stable formatting (NaN and inf become null)."""
    def clean(x: Any) -> Any:
        if isinstance(x, float) and not math.isfinite(x):
            return None
        if isinstance(x, dict):
            return {str(k): clean(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [clean(v) for v in x]
        return x
    path.write_text(json.dumps(clean(data), indent=2, default=str) + "\n", encoding="utf-8")


def manifest(model: Model, *, seed: int, requested: int, completed: int, workers: int,
             variant: str, elapsed: float, status: str, started: str,
             command: str = "", extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """What produced this folder, so that anyone can rerun it.

    ``command`` is the command line that ran (the CLI passes its own arguments; from
    Python it says so rather than recording the interpreter's unrelated ``sys.argv``).
    """
    return {
        "status": status,
        "scenario": {"id": model.id, "path": model.path, "sha256": model.digest},
        "variant": variant,
        "levers_changed": dict(model.applied),
        "seed": seed,
        "runs_requested": requested,
        "runs_completed": completed,
        "workers": workers,
        "elapsed_seconds": round(elapsed, 3),
        "started": started,
        "finished": dt.datetime.now().isoformat(timespec="seconds"),
        "command": command or "(from Python: sim.api)",
        "versions": versions(),
        **(extra or {}),
    }
