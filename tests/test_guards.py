"""The tests' own guards: ``cpu_limit`` counts CPU time, so waiting never trips it and an
endless loop always does."""

from __future__ import annotations

import time

import pytest
from helpers import cpu_limit


def test_cpu_limit_ignores_time_spent_waiting():
    """Half a second asleep uses almost no CPU: a loaded machine cannot fail the bound."""
    with cpu_limit(0.3):
        time.sleep(0.5)


def test_cpu_limit_stops_an_endless_loop():
    with pytest.raises(TimeoutError, match="CPU time"), cpu_limit(0.2):
        while True:
            pass

