"""How the command line reports faults: exit statuses, stops, file-system errors.

One place for every command: an interrupted results folder is announced the same way
whether Ctrl-C, SIGTERM, a lost worker, a model error or a drawing failure stopped the work.
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

from ..faults import INTERRUPTED, TERMINATED, Stop

EXIT_OK, EXIT_RUNTIME, EXIT_INPUT, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143


def exit_code(stop: Stop | None) -> int:
    """0 for complete work; 130 after Ctrl-C, 143 after SIGTERM, 1 for the other stops."""
    if stop is None:
        return EXIT_OK
    return {INTERRUPTED: EXIT_INTERRUPTED, TERMINATED: EXIT_TERMINATED}.get(stop.kind,
                                                                            EXIT_RUNTIME)


def stop_lines(stop: Stop, kept: str, folder: Path | None) -> str:
    """The message for work that stopped early: why, and what was kept where."""
    where = f" in {folder} (manifest status 'interrupted')" if folder is not None else ""
    return f"Stopped: {stop.message}\nKept {kept}{where}."


_HINTS = {
    errno.ENOSPC: "the disk is full",
    errno.EFBIG: "the file is larger than allowed (file-size limit, ulimit -f?)",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the file system is read-only",
    errno.ENAMETOOLONG: "the name is too long",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EACCES: "permission denied",
    errno.EEXIST: "it already exists (a file where a folder was needed?)",
}


def cause(exc: OSError) -> str:
    """The likely cause of a file-system error, in words."""
    return _HINTS.get(exc.errno or 0) or exc.strerror or str(exc)


def os_error_line(exc: OSError) -> str:
    """One line for a file-system error, naming the file and the likely cause."""
    return f"error: {exc.filename}: {cause(exc)}" if exc.filename else f"error: {cause(exc)}"


def silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush cannot fail again
    (after a broken pipe or a full device) and print a traceback."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
