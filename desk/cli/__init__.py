"""The `desk` command: one module of this package per group of subcommands.

    serve.py     serve, worker          the long-running processes
    database.py  migrate, retention     the schema and what the database keeps
    demo.py      demo, seed, partner-sim
    outbox.py    outbox                 waiting and dead jobs, retry
    partners.py  partners               channels, API clients, secrets, hashing keys
    staff.py     staff                  staff accounts
    keys.py      keys                   receipt keys (JWKS), re-encryption of secrets
    audit.py     audit                  verify the chains, sign a checkpoint
    report.py    report                 the charter's annual report

Adding a command is a one-file change: create `desk/cli/<group>.py` holding

    def register(sub: Subparsers) -> None:          # Subparsers from desk.cli._common
        p = sub.add_parser("name", help="what it does")
        p.add_argument(...)
        p.set_defaults(func=cmd_name)

where `cmd_name(args: argparse.Namespace) -> int` returns the exit status. `build_parser()`
finds every module of this package whose name does not start with "_" and calls its
`register`; there is no list to edit. Import what a command needs inside its `cmd_…` function
(with the comment saying why) so that `desk --help` and the other commands start fast. A
command that reads its own options (`partner-sim`) also names itself in a module-level
`OWN_PARSER = {"name": main}`: `desk name …` hands `main` the rest of the command line.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Callable
from types import ModuleType


def _command_modules() -> list[ModuleType]:
    return [
        importlib.import_module(f"{__name__}.{found.name}")
        for found in sorted(pkgutil.iter_modules(__path__), key=lambda found: found.name)
        if not found.name.startswith("_")
    ]


def _own_parsers() -> dict[str, Callable[[list[str]], int]]:
    own: dict[str, Callable[[list[str]], int]] = {}
    for module in _command_modules():
        own.update(getattr(module, "OWN_PARSER", {}))
    return own


def build_parser() -> argparse.ArgumentParser:
    """Every subcommand and its options (tests check compose.yaml and the Dockerfile with it)."""
    parser = argparse.ArgumentParser(prog="desk", description="Le guichet des données")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in _command_modules():
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    _configure_logging(argv[:1])
    own = _own_parsers().get(argv[0]) if argv else None
    if own is not None:
        return own(argv[1:])
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


def _configure_logging(command: list[str]) -> None:
    """JSON lines for the long-running services an operator collects logs from; text for
    the demo and one-off commands, read by a person. DESK_LOG_FORMAT overrides."""
    # Imported when this command runs: `desk --help` and the other commands start fast.
    from desk.logs import configure_logging

    default = "json" if command in (["serve"], ["worker"]) else "text"
    configure_logging(
        os.environ.get("DESK_LOG_FORMAT") or default, os.environ.get("DESK_LOG_LEVEL") or "INFO"
    )
