"""The results folder: atomic writes, manifest, per-replication CSV, summary JSON.

Everything is written into a hidden temporary sibling folder and renamed into place at the
end, so an interrupted run never leaves a folder that looks complete. Names derived from
scenario text are sanitised so that no file lands outside its folder.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import errno
import io
import json
import math
import os
import platform
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple, TextIO

from ..errors import UsageError
from ..faults import PLOT_FAILED, Stop, interrupts_deferred, stop_of
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
    """``folder/stem+suffix``, or with -2, -3, ... before the suffix if that exists.

    Only a suggestion (another process may take it at once): to claim a folder without a
    race, stage it and let :func:`staged_folder` rename it into a free name."""
    candidate = folder / f"{stem}{suffix}"
    counter = 2
    while candidate.exists() or candidate.is_symlink():
        candidate = folder / f"{stem}-{counter}{suffix}"
        counter += 1
    return candidate


def default_folder(root: Path, model: Model, variant: str) -> Path:
    """results/<scenario>[-<variant>]-<timestamp>: with ``staged_folder(..., unique=True)``
    a name taken meanwhile (two runs started in the same second) gets -2, -3, ..."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    stem = safe_name(model.id if variant == "base" else f"{model.id}-{variant}")
    return root / f"{stem}-{stamp}"


def versions() -> dict[str, str]:
    """Versions of Python and of the packages that shape the numbers."""
    out = {"python": platform.python_version()}
    for package in ("escalation-sim", "numpy", "scipy", "simpy", "matplotlib", "PyYAML"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = "not installed"
    return out


# A folder being written is ".sim-stage-<pid>-<random>" beside its target: short (any
# legal target name fits), and recognisably ours, so that the stages of crashed runs
# (killed, power cut) can be removed safely later.
_STAGE_PREFIX = ".sim-stage-"
_STAGE = re.compile(r"^\.sim-stage-(\d+)-[A-Za-z0-9_]+$")
MAX_NAME_BYTES = 255  # what file systems allow; "-partial" and "-2" cut the name to fit
PARTIAL = "-partial"


class Stage:
    """A temporary folder and the final name it will be moved to.

    ``partial = True`` keeps it under ``<target>-partial`` (a free variant of it): an
    interrupted results folder, never mistaken for a complete one. After the ``with``
    block, ``target`` is where the folder really went."""

    def __init__(self, path: Path, target: Path, unique: bool) -> None:
        self.path = path
        self.target = target
        self.unique = unique
        self.partial = False


@contextmanager
def staged_folder(target: Path, force: bool, unique: bool = False) -> Iterator[Stage]:
    """Yield a Stage; on success, move its folder to ``stage.target`` atomically.

    An existing non-empty target is an error unless ``force``, and ``force`` replaces only
    an earlier results folder (never a file, link, device or other folder), after the new
    folder is complete. With ``unique`` (default names) a target taken meanwhile becomes
    ``-2``, ``-3``, ...: claimed by an atomic rename, so parallel runs never collide. On
    any failure the temporary folder is removed; stale stages of crashed runs beside the
    target are removed first.
    """
    target = Path(os.path.abspath(target))
    if len(target.name.encode("utf-8", "replace")) > MAX_NAME_BYTES:
        raise UsageError(f"the folder name {target.name[:40]}... is "
                         f"{len(target.name.encode('utf-8', 'replace'))} bytes long; at most "
                         f"{MAX_NAME_BYTES} are allowed: choose a shorter name")
    if not unique:
        check_free(target, force)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_stages(target.parent)
    temp = Path(tempfile.mkdtemp(prefix=f"{_STAGE_PREFIX}{os.getpid()}-", dir=target.parent))
    stage = Stage(temp, target, unique)
    try:
        yield stage
        with interrupts_deferred(reraise=False):  # once complete, never half-renamed
            stage.target = _place(stage, force)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


def _place(stage: Stage, force: bool) -> Path:
    """Rename the stage to its target (or a free variant); return where it went."""
    target = Path(os.path.abspath(stage.target))
    if stage.partial:
        return _rename_free(stage.path, target.with_name(_fitted(target.name, PARTIAL)))
    if stage.unique:
        return _rename_free(stage.path, target)
    try:
        check_free(target, force)
        replace = _exists(target) and not (target.is_dir() and not any(target.iterdir()))
    except UsageError:
        replace = False  # taken meanwhile by something we may not replace: keep the work
    if not replace:
        return _rename_free(stage.path, target)  # (a free variant if it is taken)
    old = Path(tempfile.mkdtemp(prefix=f"{_STAGE_PREFIX}{os.getpid()}-", dir=target.parent))
    os.rename(target, old / "old")
    os.rename(stage.path, target)
    shutil.rmtree(old, ignore_errors=True)
    return target


def _rename_free(temp: Path, target: Path) -> Path:
    """Rename ``temp`` to ``target`` or, if that is taken, to target-2, target-3, ...

    rename() onto a non-empty folder or a file fails atomically, so two processes can
    never both get the same name."""
    for counter in range(1, 10_000):
        name = target.name if counter == 1 else _fitted(target.name, f"-{counter}")
        candidate = target.with_name(name)
        if _exists(candidate) and not (candidate.is_dir() and not candidate.is_symlink()):
            continue  # a file or a link: rename() could replace it, so never try
        try:
            os.rename(temp, candidate)
        except OSError as exc:
            if exc.errno in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR):
                continue
            raise
        return candidate
    raise UsageError(f"no free folder name like {target}")


def _fitted(name: str, suffix: str) -> str:
    """``name + suffix``, the name shortened if needed to stay within MAX_NAME_BYTES."""
    room = MAX_NAME_BYTES - len(suffix.encode("utf-8"))
    return name.encode("utf-8")[:room].decode("utf-8", "ignore") + suffix


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def remove_stale_stages(folder: Path) -> list[Path]:
    """Remove the stage folders that crashed runs of this tool left in ``folder``: named
    like ours, owned by this user, and whose process is gone. Returns what was removed."""
    removed: list[Path] = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _STAGE.match(entry.name)
        if match is None or entry.is_symlink() or not entry.is_dir():
            continue
        try:
            if entry.stat().st_uid != os.getuid() or _alive(int(match.group(1))):
                continue
        except OSError:
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, not ours to signal
        return True
    return True


class Drawing(NamedTuple):
    """What a results folder holds: ``data`` writes the numbers (JSON, tables), ``visuals``
    draws the figures and the page, ``info`` gives the manifest for a Stop (or None)."""

    data: Callable[[Path], None]
    visuals: Callable[[Path], None]
    info: Callable[[Stop | None], dict[str, Any]]


def fill_stage(stage: Stage, stop: Stop | None, drawing: Drawing) -> Stop | None:
    """Write a results folder so that nothing finished is lost, and return why it is
    incomplete (None if it is not).

    The numbers are written first, with interrupts held back; then the figures. Ctrl-C,
    SIGTERM or a failure while drawing keeps the numbers: the folder is then an
    interrupted results folder (``-partial``, manifest ``status: interrupted``), exactly
    like a run stopped by ``stop``. The manifest is written last."""
    with interrupts_deferred(reraise=False) as held:
        drawing.data(stage.path)
    stop = stop or (held[0] if held else None)
    if not held:  # an interrupt while the numbers were written: skip the figures
        try:
            drawing.visuals(stage.path)
        except KeyboardInterrupt as exc:
            stop = stop or stop_of(exc)
        except Exception as exc:  # noqa: BLE001 - any failure of drawing must not lose runs
            detail = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            stop = stop or Stop(PLOT_FAILED, f"drawing the figures or the page failed "
                                             f"({detail})")
    # An interrupt while the manifest is written comes too late to matter: all is kept.
    with interrupts_deferred(reraise=False):
        write_json(stage.path / "manifest.json", drawing.info(stop))
    stage.partial = stop is not None
    return stop


def check_free(target: Path, force: bool) -> None:
    """Refuse a target that exists, unless ``force`` and it is an earlier results folder.

    Never replaced, even with ``force``: a file (the scenario being run), a symbolic link
    (whose target may lie anywhere), a FIFO or device, a folder that is not a results
    folder (no manifest.json), a folder holding the current directory."""
    if not _exists(target) or (target.is_dir() and not target.is_symlink()
                               and not any(target.iterdir())):
        return
    if not force:
        raise UsageError(f"{target} already exists; choose another folder, or allow "
                         "replacing an earlier results folder")
    keep = "only a results folder written by this tool is ever replaced"
    if target.is_symlink():
        raise UsageError(f"refusing to replace {target}: it is a symbolic link ({keep})")
    if not target.is_dir():
        what = "a file" if target.is_file() else "not a regular file or folder"
        raise UsageError(f"refusing to replace {target}: it is {what} ({keep})")
    cwd = Path.cwd().resolve()
    real = target.resolve()
    if cwd == real or real in cwd.parents:
        raise UsageError(f"refusing to replace {target}: it contains the current directory")
    manifest_file = target / "manifest.json"
    if manifest_file.is_symlink() or not manifest_file.is_file():
        raise UsageError(f"refusing to replace {target}: it is not a "
                         "results folder written by this tool (no manifest.json)")


@contextmanager
def naming(path: Path) -> Iterator[None]:
    """Give an OSError raised while writing through a stream (which carries no file name:
    a full disk, a file-size limit) the name of the file it was writing."""
    try:
        yield
    except OSError as exc:
        if exc.filename is not None or exc.errno is None:
            raise
        raise OSError(exc.errno, exc.strerror, str(path)) from None


def write_file(path: Path, text: str, overwrite: bool = True) -> None:
    """Write a single file whole or not at all: into a hidden temporary file beside it,
    then renamed over it. A full disk or a file-size limit leaves no half-written file.
    Without ``overwrite`` an existing file is an error (FileExistsError)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name[:40]}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
        if overwrite:
            os.replace(temp, path)
        else:
            os.link(temp, path)  # fails if the name is taken meanwhile
            os.unlink(temp)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


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


class CsvRows:
    """Records to CSV text (picklable: the runner's workers format their own chunks, so
    only text crosses between processes)."""

    def __init__(self, model: Model) -> None:
        self.model = model

    def __call__(self, records: list[Record]) -> str:
        out = io.StringIO()
        csv.writer(out).writerows(csv_row(self.model, r) for r in records)
        return out.getvalue()


class CsvSink:
    """Streams records to a CSV file chunk by chunk (nothing is kept in memory).

    Call it with records, or give the runner ``rows`` to format chunks in the workers and
    ``write`` to append their text (the same bytes either way)."""

    def __init__(self, model: Model, stream: TextIO) -> None:
        self.model = model
        self.stream = stream
        self.rows = CsvRows(model)
        csv.writer(stream).writerow(csv_header(model))

    def __call__(self, records: list[Record]) -> None:
        self.stream.write(self.rows(records))

    def write(self, text: str) -> None:
        """Append rows already formatted by :attr:`rows`."""
        self.stream.write(text)


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
             command: str = "", extra: dict[str, Any] | None = None,
             stop: Stop | None = None) -> dict[str, Any]:
    """What produced this folder, so that anyone can rerun it.

    With ``stop`` the status is "interrupted" and ``stopped_by``/``reason`` say why.

    ``command`` is the command line that ran (the CLI passes its own arguments; from
    Python it says so rather than recording the interpreter's unrelated ``sys.argv``).
    """
    return {
        "status": "interrupted" if stop is not None else status,
        **({"stopped_by": stop.kind, "reason": stop.message} if stop is not None else {}),
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
