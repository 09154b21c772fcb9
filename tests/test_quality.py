"""The code's own standards, checked with the suite: ruff (lint and format) and mypy --strict,
for the desk and for the tests (the same strict settings, pyproject.toml [tool.mypy])."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True)


@pytest.mark.functional
@pytest.mark.parametrize(
    "command",
    [
        ("ruff", "check", "desk", "adapters", "tests", "bench", "tools"),
        ("ruff", "format", "--check", "desk", "adapters", "tests", "bench", "tools"),
        ("mypy",),
        ("mypy", "tests"),
    ],
    ids=["ruff-check", "ruff-format", "mypy-strict", "mypy-tests"],
)
def test_code_meets_its_standards(command: tuple[str, ...]) -> None:
    result = _run(*command)
    assert result.returncode == 0, result.stdout + result.stderr
