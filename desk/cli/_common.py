"""What every command module of `desk.cli` shares: the subparsers' type and the settings."""

from __future__ import annotations

import argparse
import sys
from typing import TypeAlias

from desk.settings import Settings

# What `register(sub)` receives: `sub.add_parser(name, help=...)` adds a command.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def settings() -> Settings:
    """The desk's settings, read from the DESK_* environment variables; a value that does not
    hold ends the command with its one-line reason (exit 2), not a traceback."""
    try:
        return Settings.from_env()
    except ValueError as exc:
        print(f"desk: configuration: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
