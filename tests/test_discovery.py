"""Scenario discovery (sim.analyses.discovery)."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from sim.analyses.discovery import analyse, discover
from sim.errors import UsageError
from sim.spec.loader import load_text

SCENARIO = textwrap.dedent("""
    scenario: {id: s, title: S, start: 2025-01-01, horizon_days: 30}
    ladder: {rungs: [{id: calm, name: Calm}, {id: war, name: War}]}
    actors: {a: {name: A}}
    parameters:
      hawkishness: {dist: uniform, low: 0, high: 1, source: test}
      noise: {dist: uniform, low: 0, high: 1, source: test}
    actions:
      trigger: {actor: a}
      go: {actor: a, rung: war, ends_run: true}
    schedule:
      - {id: t, day: 1, action: trigger}
    rules:
      r: {on: trigger, probability: "hawkishness ** 2", action: go, source: test}
    outcomes:
      war_started: {when: "peak >= war"}
""")


def test_discovery_ranks_the_driving_parameter_first():
    """P(war) = h^2: hawkishness separates runs, and its quintile risk rises steeply."""
    m = load_text(SCENARIO)
    disc = discover(m, "war_started", 3000, 1, workers=1)
    top = disc.findings[0]
    assert top.id == "hawkishness" and top.ks > 0.3 and top.p_value < 1e-10
    p_by_bin = [b.p for b in top.bins]
    assert p_by_bin == sorted(p_by_bin)
    assert p_by_bin[0] < 0.05 and p_by_bin[-1] > 0.6
    other = disc.findings[1]
    assert other.id == "noise" and other.ks < 0.08
    assert disc.hits == sum(b.k for b in top.bins)


def test_discovery_needs_both_kinds_of_runs():
    """An outcome that never (or always) happens cannot be discovered."""
    m = load_text(SCENARIO)
    with pytest.raises(UsageError, match="happened in 0 of 4 runs"):
        analyse(m, "war_started", np.zeros((4, 2)), np.zeros(4, dtype=bool))
