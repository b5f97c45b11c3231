"""Random streams: one per replication and per source of randomness.

A replication's streams are derived from (run seed, replication index) as
:class:`numpy.random.SeedSequence` derives them (computed here for a block of replications
at once, bit for bit the same), so a replication's numbers do not depend on which worker
runs it or in which order. Each source of randomness (parameter draws, the
schedule, every process, every rule) has its own stream, so two variants of a scenario
that differ only in levers consume the same numbers source by source (common random
numbers): a comparison then measures the lever, not the noise.

The streams themselves are :class:`random.Random` generators (Mersenne Twister), seeded
from 64-bit words of the SeedSequence. They draw scalars about twice as fast as numpy's
Generator, which matters because the engine draws one number at a time.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any, cast

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
        self._seeds = seed_words(seed, replication, count, branch)
        # The streams created so far (None until first used: seeding a Mersenne Twister
        # costs microseconds, and many sources draw nothing in a given replication). The
        # engine's hot path reads this list directly and falls back to ``streams[i]``.
        self.cache: list[random.Random | None] = [None] * count

    def __getitem__(self, source: int) -> random.Random:
        stream = self.cache[source]
        if stream is None:
            stream = self.cache[source] = _seeded(self._seeds[source])
        return stream


def _seeded(seed: int) -> random.Random:
    """``random.Random(seed)`` for a non-negative int, in the same state, without the
    Python-level argument checks of ``Random.__init__`` and ``Random.seed`` (a fifth of
    the cost of a stream; a replication seeds about twenty)."""
    stream = _new_random(random.Random)
    _seed_random(stream, seed)
    cast(Any, stream).gauss_next = None  # as Random.seed leaves it (typeshed omits it)
    return stream


_new_random = random.Random.__new__
# The C seeding that random.Random.seed calls for an int (its base class's method).
_seed_random: Callable[[random.Random, int], None] = \
    random.Random.__mro__[1].seed  # type: ignore[attr-defined]


# numpy's SeedSequence (O'Neill's seed_seq design), computed for a block of replications at
# once: its per-call cost (tens of microseconds) was a sizeable share of a small
# replication. The constants are numpy's; tests check the words are numpy's, bit for bit.
_M32 = 0xFFFF_FFFF
_POOL = 4
_INIT_A, _MULT_A = 0x43B0_D7E5, 0x931E_8875
_INIT_B, _MULT_B = 0x8B51_F9DD, 0x58F3_8DED
_MIX_L, _MIX_R = 0xCA01_F9DD, 0x4973_F715
_BLOCK = 64  # replications whose words are computed together
_KEPT = 8  # blocks kept (distinct seeds, counts, branches in use at once)
_blocks: dict[tuple[int, int, tuple[int, ...], int], list[list[int]]] = {}
_blocks_lock = threading.Lock()


def seed_words(seed: int, replication: int, count: int,
               branch: tuple[int, ...] = ()) -> list[int]:
    """The ``count`` 64-bit seeds of a replication's streams: the words of
    ``SeedSequence(seed, spawn_key=(replication, *branch)).generate_state(count, uint64)``.

    Words of the 64 consecutive replications around it are computed together (vectorised)
    and kept, as replications are run in order."""
    key = (seed, count, branch, replication // _BLOCK)
    rows = _blocks.get(key)
    if rows is None:
        if not _plain(seed, replication, branch):
            return np.random.SeedSequence(seed, spawn_key=(replication, *branch)) \
                .generate_state(count, dtype=np.uint64).tolist()
        rows = _block_words(seed, key[3] * _BLOCK, count, branch)
        with _blocks_lock:  # threads (the web app) may run replications side by side
            while len(_blocks) >= _KEPT:
                _blocks.pop(next(iter(_blocks)))
            _blocks[key] = rows
    return rows[replication % _BLOCK]


def _plain(seed: int, replication: int, branch: tuple[int, ...]) -> bool:
    """True when the vectorised path applies: non-negative ints, each key word < 2**32
    (other inputs, and any error, are left to numpy)."""
    return (type(seed) is int and seed >= 0 and type(replication) is int
            and 0 <= replication < (1 << 32) - _BLOCK
            and all(type(b) is int and 0 <= b <= _M32 for b in branch))


def _uint32_words(n: int) -> list[int]:
    """A non-negative int as little-endian 32-bit words, as SeedSequence reads it."""
    words = [0] if n == 0 else []
    while n:
        words.append(n & _M32)
        n >>= 32
    return words


def _hash_constants(init: int, mult: int, n: int) -> list[int]:
    out = [init]
    for _ in range(n):
        out.append(out[-1] * mult & _M32)
    return out


def _hashmix(value: Any, k: int, consts: list[int]) -> Any:
    """The k-th hashmix call of the entropy mixing (its hash constant is fixed by k)."""
    value = ((value ^ consts[k]) * consts[k + 1]) & _M32
    return value ^ (value >> 16)


def _mix(x: Any, y: Any) -> Any:
    result = ((_MIX_L * x & _M32) - (_MIX_R * y & _M32)) & _M32
    return result ^ (result >> 16)


def _block_words(seed: int, start: int, count: int,
                 branch: tuple[int, ...]) -> list[list[int]]:
    """The words of replications [start, start + _BLOCK): one row each."""
    run = _uint32_words(seed)
    run += [0] * (_POOL - len(run))  # a spawn key pads the seed's words to the pool
    key_words = len(branch) + 1
    consts = _hash_constants(_INIT_A, _MULT_A, 2 * _POOL * _POOL +
                             _POOL * (len(run) - _POOL + key_words))
    # Mixing the seed's words depends on the seed alone: plain ints.
    pool = [_hashmix(run[i], i, consts) for i in range(_POOL)]
    k = _POOL
    for src in range(_POOL):
        for dst in range(_POOL):
            if src != dst:
                pool[dst] = _mix(pool[dst], _hashmix(pool[src], k, consts))
                k += 1
    for word in run[_POOL:]:
        for dst in range(_POOL):
            pool[dst] = _mix(pool[dst], _hashmix(word, k, consts))
            k += 1
    # Then the spawn key (replication, *branch): a column per pool word, a row per replication.
    reps = np.arange(start, start + _BLOCK, dtype=np.uint64)
    cols = [np.full(_BLOCK, p, dtype=np.uint64) for p in pool]
    for column in [reps, *(np.uint64(b) for b in branch)]:
        for dst in range(_POOL):
            cols[dst] = _mix(cols[dst], _hashmix(column, k, consts))
            k += 1
    # generate_state: 2 * count 32-bit words cycling over the pool, read as 64-bit pairs.
    out_consts = np.array(_hash_constants(_INIT_B, _MULT_B, 2 * count), dtype=np.uint64)
    pools = np.stack(cols, axis=1)
    halves: Any = (pools[:, np.arange(2 * count) % _POOL] ^ out_consts[:-1]) * out_consts[1:]
    halves &= _M32
    halves ^= halves >> np.uint64(16)
    words: list[list[int]] = (halves[:, 0::2] | (halves[:, 1::2] << np.uint64(32))).tolist()
    return words


def rule_stream(n_processes: int, rule: int) -> int:
    """The source number of rule ``rule`` (after the parameters, schedule and processes)."""
    return FIRST_PROCESS + n_processes + rule


def stream_count(n_processes: int, n_rules: int) -> int:
    """Number of sources: parameters, schedule, each process, each rule."""
    return FIRST_PROCESS + n_processes + n_rules
