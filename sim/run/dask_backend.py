"""Run chunk tasks on a Dask distributed cluster (``--backend dask --scheduler ADDRESS``).

The task is scattered to every worker once; chunks are submitted in a bounded window and
consumed in chunk order, exactly like the local pool, so a run gives the same numbers on
a laptop and on a cluster for the same seed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import UsageError


def _call(task: Any, bounds: tuple[int, int]) -> Any:
    return task(*bounds)


def run_on_dask(task: Any, chunks: Iterator[tuple[int, int]], scheduler: str,
                take: Callable[[Any], bool]) -> None:
    """Feed each chunk's result, in order, to ``take`` until it returns True."""
    try:
        from distributed import Client
    except ImportError:
        raise UsageError("the Dask backend needs dask[distributed]: pip install "
                         "'escalation-sim[dask]'") from None
    try:
        client = Client(scheduler, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    try:
        window = 2 * max(1, sum(client.nthreads().values()))
        shared = client.scatter(task, broadcast=True)
        pending: deque[Any] = deque()
        for bounds in chunks:
            pending.append(client.submit(_call, shared, bounds, pure=False))
            if len(pending) >= window:
                break
        while pending:
            if take(pending.popleft().result()):
                break
            nxt = next(chunks, None)
            if nxt is not None:
                pending.append(client.submit(_call, shared, nxt, pure=False))
        for future in pending:
            future.cancel()
    finally:
        client.close()
