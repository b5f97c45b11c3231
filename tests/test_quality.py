"""The code base stays lint-clean (ruff) and type-clean (mypy)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def test_ruff_is_clean():
    """ruff finds nothing in sim/ and tests/."""
    if shutil.which("ruff") is None and _run("ruff", "--version").returncode != 0:
        pytest.skip("ruff is not installed")
    result = _run("ruff", "check", "sim", "tests")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean():
    """mypy finds no type errors in the sim package."""
    if _run("mypy", "--version").returncode != 0:
        pytest.skip("mypy is not installed")
    result = _run("mypy", "sim")
    assert result.returncode == 0, result.stdout + result.stderr
