"""Habits the code keeps: small functions (at most 120 lines each).

Complexity (McCabe <= 20) and the print rule are ruff's (pyproject.toml); the layering is
tests/test_layers.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

SIM = Path(__file__).resolve().parent.parent / "sim"
MAX_LINES = 120
# Known and tracked, never to grow: name -> why it stays for now.
PENDING: dict[str, str] = {}


def long_functions(root: Path = SIM, limit: int = MAX_LINES) -> dict[str, int]:
    """'file:function' -> lines, for every function longer than ``limit`` lines."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > limit:
                    found[f"{path.relative_to(root).as_posix()}:{node.name}"] = lines
    return found


def test_no_function_is_longer_than_120_lines():
    found = long_functions()
    assert set(found) <= set(PENDING), {k: v for k, v in found.items() if k not in PENDING}


def test_the_pending_list_only_shrinks():
    """A pending entry that is fixed must leave the list (so the list stays true)."""
    assert set(PENDING) <= set(long_functions()), "remove fixed entries from PENDING"


def test_the_measure_sees_a_long_function(tmp_path: Path):
    body = "\n".join(f"    x{i} = {i}" for i in range(130))
    (tmp_path / "m.py").write_text(f"def big():\n{body}\n\ndef small():\n    return 1\n")
    assert long_functions(tmp_path) == {"m.py:big": 131}
