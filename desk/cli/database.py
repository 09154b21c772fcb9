"""`desk migrate` (apply the migrations) and `desk retention run` (apply the retention rules)."""

from __future__ import annotations

import argparse
import asyncio

from desk.cli._common import Subparsers, settings


def cmd_migrate(args: argparse.Namespace) -> int:
    # Imported when this command runs: `desk --help` and the other commands start fast.
    from desk.db import migrate

    asyncio.run(migrate(settings().database_url))
    print("Base de données à jour / database up to date.")
    return 0


def cmd_retention(args: argparse.Namespace) -> int:
    # Imported when this command runs: `desk --help` and the other commands start fast.
    from desk.retention.jobs import run_retention_command

    return asyncio.run(run_retention_command(settings=settings(), dry_run=args.dry_run))


def register(sub: Subparsers) -> None:
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    p = sub.add_parser("retention", help="apply the retention rules (desk.retention.rules)")
    p.add_argument("action", choices=["run"])
    p.add_argument("--dry-run", action="store_true", help="count what would change, change nothing")
    p.set_defaults(func=cmd_retention)
