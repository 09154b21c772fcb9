"""`desk report --year Y`: the charter's annual report as one HTML file."""

from __future__ import annotations

import argparse
import asyncio

from desk.cli._common import Subparsers, settings


def cmd_report(args: argparse.Namespace) -> int:
    # Imported when this command runs: `desk --help` and the other commands start fast.
    from desk.statistics.report import write_report_file

    return asyncio.run(write_report_file(settings=settings(), year=args.year, output=args.output))


def register(sub: Subparsers) -> None:
    p = sub.add_parser("report", help="write the charter's annual report as one HTML file")
    p.add_argument("--year", required=True, help="the year, e.g. 2025")
    p.add_argument("--output", help="file to write (default: bilan-<year>.html)")
    p.set_defaults(func=cmd_report)
