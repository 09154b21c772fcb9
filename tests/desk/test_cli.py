"""The `desk` command: every command group is found, and a new one is a single new module."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import desk.cli
from desk.cli import build_parser

COMMANDS = {
    "serve", "worker", "migrate", "retention", "seed", "demo", "partner-sim", "outbox",
    "partners", "staff", "keys", "report", "audit",
}  # fmt: skip

EXTRA = """
from desk.cli._common import Subparsers


def cmd_hello(args):
    print(f"bonjour {args.name}")
    return 7


def register(sub: Subparsers) -> None:
    p = sub.add_parser("hello", help="say hello")
    p.add_argument("name")
    p.set_defaults(func=cmd_hello)
"""


def _commands() -> set[str]:
    listed = re.search(r"\{([a-z,-]+)\}", build_parser().format_usage())
    assert listed is not None
    return set(listed.group(1).split(","))


def test_every_command_is_listed() -> None:
    assert _commands() == COMMANDS


@pytest.fixture
def extra_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    (tmp_path / "greetings.py").write_text(EXTRA, encoding="utf-8")
    monkeypatch.setattr(desk.cli, "__path__", [*desk.cli.__path__, str(tmp_path)])
    yield
    sys.modules.pop("desk.cli.greetings", None)


def test_a_new_module_in_the_package_adds_its_command(
    extra_module: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _commands() == COMMANDS | {"hello"}
    args = build_parser().parse_args(["hello", "Camille"])
    assert args.func(args) == 7
    assert capsys.readouterr().out == "bonjour Camille\n"
