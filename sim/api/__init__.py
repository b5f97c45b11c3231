"""The Python API: every workflow of the tool, for notebooks, scripts, the CLI and the
web app. Front ends only parse input and present what these functions return.

    >>> from sim import api
    >>> res = api.simulate("scenarios/teaching.yaml", runs=2000, seed=1)   # in memory
    >>> print(res.table())
    >>> res.figures()["incidence"]            # a matplotlib Figure
    >>> report = api.run("scenarios/teaching.yaml", runs=2000)             # a results folder
    >>> analysis = api.compare("scenarios/atacms.yaml", runs=1000)
    >>> print(analysis.text); api.save(analysis)

Long work takes ``progress(done, total)``, called as chunks of replications finish.
"""

from ..analyses.story import MAX_SEARCH
from .analyses import Analysis, compare, compare_policies, discover, save, sensitivity, sweep
from .backtest import DEFAULT_RUNS as BACKTEST_RUNS
from .backtest import Backtest, backtest, save_backtest
from .basics import RESULTS, Progress, Results, Scenario, prepare, simulate
from .play import DEFAULT_RUNS as PLAY_RUNS
from .play import Debrief, debrief, new_game, transcript_path, unfinished_transcript
from .running import DEFAULT_RUNS, MAX_RUNS, RunReport, run
from .story import Paths, PathsTo, Story, StorySearch, paths, stories
from .tools import (
    Check,
    NewScenario,
    bench,
    exact,
    new_scenario,
    schema_text,
    validate,
    write_schema,
)

__all__ = [
    "BACKTEST_RUNS", "DEFAULT_RUNS", "MAX_RUNS", "MAX_SEARCH", "PLAY_RUNS", "RESULTS",
    "Analysis", "Backtest", "Check", "Debrief", "NewScenario", "Paths", "PathsTo", "Progress",
    "Results", "RunReport", "Scenario", "Story", "StorySearch", "backtest", "bench", "compare",
    "compare_policies", "debrief", "discover", "exact", "new_game", "new_scenario", "paths",
    "prepare", "run", "save", "save_backtest", "schema_text", "sensitivity", "simulate",
    "stories", "sweep", "transcript_path", "unfinished_transcript", "validate", "write_schema",
]
