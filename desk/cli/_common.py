"""What every command module of `desk.cli` shares: the subparsers' type and the settings."""

from __future__ import annotations

import argparse
from typing import TypeAlias

from desk.settings import Settings

# What `register(sub)` receives: `sub.add_parser(name, help=...)` adds a command.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def settings() -> Settings:
    """The desk's settings, read from the DESK_* environment variables."""
    return Settings.from_env()
