"""Escalation-risk scenario simulator: YAML crisis scenarios, SimPy Monte Carlo.

Importing the package has no side effects; see :mod:`sim.api` for the notebook API.
"""

from .errors import ScenarioError, SimError, UsageError
from .spec.loader import load, load_text

__all__ = ["ScenarioError", "SimError", "UsageError", "load", "load_text"]
__version__ = "0.1.0"
