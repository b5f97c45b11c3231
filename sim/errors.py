"""The one exception root of the simulator, and the located problems it carries."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario, located as precisely as we can.

    ``path`` is the YAML path (``actors.russia.rules[2].probability``); ``line`` is
    1-based, 0 when unknown.
    """

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        subject = f"'{self.path}' " if self.path else ""
        return f"{where}: {subject}{self.message}"


class SimError(Exception):
    """Root of every error the simulator raises on purpose."""


class ScenarioError(SimError):
    """A scenario file is invalid; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class UsageError(SimError):
    """A command was asked for something impossible (unknown variant, bad --set, ...)."""


class NotMarkovianError(SimError):
    """The scenario cannot be solved exactly as a continuous-time Markov chain."""
