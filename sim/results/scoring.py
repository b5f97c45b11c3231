"""Scoring probability forecasts against the model: Brier scores and a class ranking.

A forecast gives a probability for each of a set of outcomes. Against the model's answer
(its probability ``p`` of each outcome) the score is the mean squared distance

    brier = mean over outcomes of (forecast - p)^2,

0 for perfect agreement, 1 at worst. It ranks forecasts exactly as the Brier score averaged
over the model's simulated futures would: that average is ``(forecast - p)^2 + p(1 - p)``,
and the added ``p(1 - p)`` is the same for everyone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def brier(forecast: Mapping[str, float], truth: Mapping[str, float]) -> float:
    """Mean squared distance between the forecast and the truth over the truth's outcomes
    (KeyError if the forecast lacks one; ValueError for no outcomes)."""
    if not truth:
        raise ValueError("no outcomes to score")
    return sum((float(forecast[k]) - p) ** 2 for k, p in truth.items()) / len(truth)


def ranks(scores: Sequence[float], places: int = 12) -> list[int]:
    """Competition ranks (1, 2, 2, 4): lower scores rank first; scores equal to ``places``
    decimals tie (so float noise never splits equal forecasts)."""
    rounded = [round(s, places) for s in scores]
    return [1 + sum(other < mine for other in rounded) for mine in rounded]
