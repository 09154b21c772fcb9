"""`desk outbox [--retry JOB_ID]`: the back office's view of the outbox from a shell."""

from __future__ import annotations

import argparse
import asyncio
import sys

from desk.cli._common import Subparsers, settings


def cmd_outbox(args: argparse.Namespace) -> int:
    """The back office's view of the outbox: what is waiting, what is dead, and a retry."""
    # Imported when this command runs: `desk --help` and the other commands start fast.
    from desk.db import connected
    from desk.outbox import services

    async def run() -> int:
        async with connected(settings().database_url):
            if args.retry is not None:
                if await services.retry_dead(job_id=args.retry):
                    print(f"Tâche {args.retry} relancée.")
                    return 0
                print(f"Aucune tâche morte n° {args.retry}.", file=sys.stderr)
                return 1
            print(f"En attente : {await services.pending_count()}")
            dead = await services.dead_jobs()
            print(f"Mortes (abandonnées après le dernier essai) : {len(dead)}")
            for job in dead:
                print(
                    f"  #{job.id} {job.kind} {job.payload} essais={job.attempts} — {job.last_error}"
                )
            return 0

    return asyncio.run(run())


def register(sub: Subparsers) -> None:
    p = sub.add_parser("outbox", help="list waiting and dead outbox jobs; retry a dead one")
    p.add_argument("--retry", type=int, metavar="JOB_ID", help="give a dead job new attempts")
    p.set_defaults(func=cmd_outbox)
