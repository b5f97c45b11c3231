"""Random streams: one per replication and per source of randomness.

A replication's streams are derived from (run seed, replication index) with
:class:`numpy.random.SeedSequence`, so a replication's numbers do not depend on which
worker runs it or in which order. Each source of randomness (parameter draws, the
schedule, every process, every rule) has its own stream, so two variants of a scenario
that differ only in levers consume the same numbers source by source (common random
numbers): a comparison then measures the lever, not the noise.

The streams themselves are :class:`random.Random` generators (Mersenne Twister), seeded
from 64-bit words of the SeedSequence. They draw scalars about twice as fast as numpy's
Generator, which matters because the engine draws one number at a time.
"""

from __future__ import annotations

import random

import numpy as np

PARAMETERS = 0
SCHEDULE = 1
FIRST_PROCESS = 2


class Streams:
    """The lazily created random streams of one replication."""

    __slots__ = ("_seeds", "cache")

    def __init__(self, seed: int, replication: int, count: int,
                 branch: tuple[int, ...] = ()) -> None:
        # ``branch`` derives further independent streams for the same replication (the
        # continuations of a played game); empty, it is the replication's own dice.
        words = np.random.SeedSequence(seed, spawn_key=(replication, *branch)).generate_state(
            count, dtype=np.uint64)
        self._seeds = words.tolist()
        # The streams created so far (None until first used: seeding a Mersenne Twister
        # costs microseconds, and many sources draw nothing in a given replication). The
        # engine's hot path reads this list directly and falls back to ``streams[i]``.
        self.cache: list[random.Random | None] = [None] * count

    def __getitem__(self, source: int) -> random.Random:
        stream = self.cache[source]
        if stream is None:
            stream = self.cache[source] = random.Random(self._seeds[source])
        return stream


def stream_count(n_processes: int, n_rules: int) -> int:
    """Number of sources: parameters, schedule, each process, each rule."""
    return FIRST_PROCESS + n_processes + n_rules
