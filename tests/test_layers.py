"""The tree shows the pipeline, and imports respect it: a lower stage never imports a
higher one (the order and its reasons are in docs/design.md, "Layers").

Every import counts, including those inside functions; only imports under
``if TYPE_CHECKING:`` (annotations, no run-time dependency) are exempt.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parent.parent / "sim"

# Lowest first. A module may import its own stage and any stage before it.
LAYERS = [
    {"errors", "faults"},  # the exception root and the Stop vocabulary, used everywhere
    {"spec"},  # scenario text -> Model
    {"run"},  # Model -> replications -> mergeable aggregates
    {"results"},  # aggregates -> estimates with intervals
    {"analyses"},  # workflows' computations: compare, sensitivity, story, play, ...
    {"present"},  # tables, plots, pages, results folders
    {"api"},  # every workflow end to end, for any front end
    {"cli", "web"},  # front ends: parse input, present, nothing else
]
TOP = {"__init__", "__main__"}  # the package's own entry files may import anything


def _rank(stage: str) -> int:
    for i, layer in enumerate(LAYERS):
        if stage in layer:
            return i
    raise AssertionError(f"sim/{stage} belongs to no layer: add it to LAYERS and to "
                         "docs/design.md")


def _stage(path: Path) -> str:
    rel = path.relative_to(SIM)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _type_checking_only(tree: ast.AST) -> set[int]:
    """Line numbers of imports inside ``if TYPE_CHECKING:`` blocks."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                for sub in ast.walk(inner):
                    lines.add(getattr(sub, "lineno", -1))
    return lines


def _imported_stages(path: Path, text: str | None = None) -> list[tuple[int, str]]:
    """(line, stage) of every sim import in a module (``text``: instead of the file's)."""
    tree = ast.parse(path.read_text(encoding="utf-8") if text is None else text)
    skip = _type_checking_only(tree)
    package = path.relative_to(SIM.parent).with_suffix("").parts[:-1]
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom | ast.Import) or node.lineno in skip:
            continue
        if isinstance(node, ast.Import):
            names = [a.name.split(".") for a in node.names if a.name.startswith("sim.")]
        elif node.level:
            base = list(package[:len(package) - node.level + 1])
            mod = node.module.split(".") if node.module else []
            names = [base + mod + ([a.name] if not mod else []) for a in node.names]
        elif node.module and node.module.split(".")[0] == "sim":
            names = [node.module.split(".") + [a.name] for a in node.names]
        else:
            continue
        for parts in names:
            if len(parts) > 1:
                found.append((node.lineno, parts[1]))
    return found


STAGES = {p.stem for p in SIM.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()}
MODULES = sorted(p for p in SIM.rglob("*.py") if _stage(p) not in TOP)


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(SIM)) for p in MODULES])
def test_no_lower_stage_imports_a_higher_one(path: Path):
    mine = _rank(_stage(path))
    for line, stage in _imported_stages(path):
        if stage in TOP or stage not in STAGES:  # the package root (e.g. __version__)
            continue
        assert _rank(stage) <= mine, (
            f"sim/{path.relative_to(SIM)}:{line} imports sim.{stage}, a higher stage than "
            f"sim.{_stage(path)} (see LAYERS)")


def test_the_checker_sees_a_violation():
    """The scanner resolves relative and absolute imports and skips TYPE_CHECKING ones
    (a test that cannot fail is a defect)."""
    text = ("from typing import TYPE_CHECKING\nfrom ..present import report\n"
            "from .model import Model\nimport sim.api\n"
            "if TYPE_CHECKING:\n    from ..cli import main\n"
            "def f():\n    from ..run.engine import Plan\n")
    stages = sorted(stage for _, stage in _imported_stages(SIM / "spec" / "x.py", text))
    assert stages == ["api", "present", "run", "spec"]
    assert _rank("present") > _rank("spec")
