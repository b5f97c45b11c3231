"""The entry point: parse, dispatch, turn every error into a message and an exit status."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence

from ..errors import ScenarioError, SimError, UsageError
from ..faults import Stopped, sigterm_interrupts, stop_of
from .common import err
from .parser import build_parser
from .stops import (
    EXIT_INPUT,
    EXIT_OK,
    EXIT_RUNTIME,
    cause,
    exit_code,
    os_error_line,
    silence_stdout,
)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status instead of raising."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed its message (or the help)
        return int(exc.code or 0)
    # Recorded in manifests and generated pages, so that anyone can rerun what ran.
    args.command_line = "python -m sim " + shlex.join(
        sys.argv[1:] if argv is None else list(argv))
    if getattr(args, "workers", None) is not None:
        from ..run.runner import max_workers
        if args.workers > max_workers():
            err(f"note: --workers {args.workers} capped to {max_workers()} (two per core; "
                "more processes only cost memory)")
            args.workers = max_workers()
    code = _dispatch(args)
    try:
        sys.stdout.flush()
    except OSError as exc:  # stdout is a closed pipe or a full device (/dev/full)
        silence_stdout()
        if not isinstance(exc, BrokenPipeError):
            err(f"error: cannot write the output (stdout): {cause(exc)}")
            return code or EXIT_RUNTIME
    return code


def _dispatch(args: argparse.Namespace) -> int:
    """Run the command; every failure becomes one message and an exit status."""
    try:
        with sigterm_interrupts():
            return int(args.func(args))
    except ScenarioError as exc:
        for problem in exc.problems:
            err(str(problem))
        err(f"{len(exc.problems)} problem(s); nothing was run.")
        return EXIT_INPUT
    except UsageError as exc:
        err(f"error: {exc}")
        return EXIT_INPUT
    except Stopped as exc:
        err(f"Stopped: {exc.stop.message}\nNothing was written.")
        return exit_code(exc.stop)
    except SimError as exc:
        err(f"error: {exc}")
        return EXIT_RUNTIME
    except KeyboardInterrupt as exc:
        stop = stop_of(exc)
        err(f"Stopped: {stop.message} before anything finished; nothing was written.")
        return exit_code(stop)
    except MemoryError:
        err("error: out of memory")
        return EXIT_RUNTIME
    except BrokenPipeError:
        silence_stdout()
        return EXIT_OK
    except OSError as exc:  # disk full, read-only, file-size limit, name too long, ...
        if exc.filename is None and not _stdout_works():
            err(f"error: cannot write the output (stdout): {cause(exc)}")
        else:
            err(os_error_line(exc))
        return EXIT_RUNTIME


def _stdout_works() -> bool:
    """False (and stdout silenced, so that the exit cannot fail again) if stdout fails.
    Tried with a real write: after a failed write the buffer may be empty."""
    try:
        sys.stdout.write("\n")
        sys.stdout.flush()
    except OSError:
        silence_stdout()
        return False
    return True
