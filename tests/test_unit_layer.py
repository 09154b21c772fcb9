"""The fast unit layer (docs/testing.md): `pytest -m unit` keeps the pure tests, and only them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PURE = "tests/desk/core/test_clock.py"
WITH_DATABASE = "tests/desk/backoffice/test_backoffice.py"
STARTS_A_PROCESS = "tests/desk/test_serve.py"


def _collected(*args: str) -> list[str]:
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    result = subprocess.run([*command, *args], cwd=ROOT, capture_output=True, text=True)
    tests = [line for line in result.stdout.splitlines() if "::" in line]
    assert tests, result.stdout + result.stderr
    return tests


@pytest.mark.functional
def test_the_unit_marker_keeps_pure_tests_and_leaves_the_others_out() -> None:
    unit = _collected("-m", "unit", PURE, WITH_DATABASE, STARTS_A_PROCESS)
    assert unit == _collected(PURE)
