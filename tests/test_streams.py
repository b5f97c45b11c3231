"""Random streams: reproducible per (seed, replication, source), independent across them."""

from __future__ import annotations

import random

import numpy as np
import pytest

from sim.run.streams import (
    FIRST_PROCESS,
    PARAMETERS,
    SCHEDULE,
    Streams,
    seed_words,
    stream_count,
)


def draws(streams: Streams, source: int, k: int = 5) -> list[float]:
    """The first ``k`` uniforms of one source."""
    return [streams[source].random() for _ in range(k)]


def test_same_seed_and_replication_give_same_numbers():
    """Two Streams for the same (seed, replication) produce identical numbers per source."""
    a, b = Streams(42, 3, 6), Streams(42, 3, 6)
    for source in range(6):
        assert draws(a, source) == draws(b, source)


def test_access_order_does_not_matter():
    """A source's numbers do not depend on which other sources were used before it."""
    a, b = Streams(7, 1, 5), Streams(7, 1, 5)
    draws(a, 0, 100)
    draws(a, 3, 50)
    assert draws(a, 4) == draws(b, 4)
    assert draws(a, 2) == draws(b, 2)


def test_a_source_is_one_continuing_stream():
    """Indexing the same source twice continues the same generator, it does not restart."""
    s = Streams(1, 0, 3)
    first = s[2].random()
    second = s[2].random()
    fresh = Streams(1, 0, 3)
    assert [first, second] == draws(fresh, 2, 2)
    assert first != second


def test_different_replication_seed_or_source_differ():
    """Changing the replication, the seed or the source changes the numbers."""
    base = draws(Streams(42, 3, 4), 2)
    assert draws(Streams(42, 4, 4), 2) != base
    assert draws(Streams(43, 3, 4), 2) != base
    assert draws(Streams(42, 3, 4), 1) != base
    sources = {tuple(draws(Streams(42, 3, 8), k)) for k in range(8)}
    assert len(sources) == 8
    replications = {tuple(draws(Streams(42, r, 3), 0)) for r in range(200)}
    assert len(replications) == 200


@pytest.mark.parametrize("k", [1, 3, 7])
def test_first_words_do_not_depend_on_the_count(k):
    """Sources 0..k-1 draw the same numbers with k or k + 40 sources (common numbers)."""
    small = Streams(2024, 11, k)
    large = Streams(2024, 11, k + 40)
    for source in range(k):
        assert draws(small, source, 20) == draws(large, source, 20)


def test_out_of_range_source_is_an_error():
    """Asking for a source beyond the count raises IndexError instead of inventing one."""
    with pytest.raises(IndexError):
        Streams(1, 0, 3)[3]


def test_stream_count_and_layout():
    """Sources are parameters, schedule, then each process, then each rule."""
    assert (PARAMETERS, SCHEDULE, FIRST_PROCESS) == (0, 1, 2)
    assert stream_count(0, 0) == 2
    assert stream_count(3, 4) == 9


def test_streams_are_roughly_uniform_and_uncorrelated():
    """Uniforms from neighbouring replications have mean 1/2 and near-zero correlation."""
    x = np.array([Streams(5, r, 2)[0].random() for r in range(4000)])
    y = np.array([Streams(5, r, 2)[1].random() for r in range(4000)])
    # 99.9% bounds: sd of the mean is sqrt(1/12/n); sd of the correlation about 1/sqrt(n).
    assert abs(x.mean() - 0.5) < 3.3 * np.sqrt(1 / 12 / 4000)
    assert abs(np.corrcoef(x, y)[0, 1]) < 3.3 / np.sqrt(4000)
    z = np.array([Streams(5, r + 1, 2)[0].random() for r in range(4000)])
    assert abs(np.corrcoef(x, z)[0, 1]) < 3.3 / np.sqrt(4000)


def _numpy_words(seed, replication, count, branch=()):
    return np.random.SeedSequence(seed, spawn_key=(replication, *branch)).generate_state(
        count, dtype=np.uint64).tolist()


@pytest.mark.parametrize("seed", [0, 1, 20241117, 2**32 - 1, 2**32, 2**64 - 1, 2**64 + 3,
                                  2**127 + 11, 2**200 + 7])
@pytest.mark.parametrize("branch", [(), (0x9A7A, 3), (2**32 - 1,), (1, 2, 3, 4, 5)])
def test_seed_words_are_numpys_seed_sequence_bit_for_bit(seed, branch):
    """The vectorised words equal numpy's SeedSequence for seeds of 1 to 7 words, branch
    keys of 0 to 5 words, block edges and a count of 1, so every stream is unchanged."""
    for replication in (0, 1, 63, 64, 65, 127, 9_999, 123_456):
        for count in (1, 2, 31):
            assert seed_words(seed, replication, count, branch) == \
                _numpy_words(seed, replication, count, branch), (replication, count)


def test_seed_words_outside_the_vectorised_range_fall_back_to_numpy():
    """Huge replication numbers and branch words beyond 32 bits take numpy's own path."""
    for replication, branch in [(2**32 - 1, ()), (5, (2**40,)), (2**33, (1,))]:
        assert seed_words(7, replication, 3, branch) == _numpy_words(7, replication, 3, branch)
    with pytest.raises(ValueError):
        seed_words(-1, 0, 3)  # numpy's error for a negative seed


def test_streams_are_random_random_in_the_state_its_constructor_gives():
    """The fast seeding leaves each stream exactly as random.Random(word) would."""
    streams = Streams(20241117, 42, 6)
    for source, word in enumerate(_numpy_words(20241117, 42, 6)):
        stream = streams[source]
        assert type(stream) is random.Random
        assert stream.getstate() == random.Random(word).getstate()
