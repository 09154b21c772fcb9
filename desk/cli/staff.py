"""`desk staff add|deactivate EMAIL`: staff accounts (back office, mediators, committee, admins)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from desk.cli._common import Subparsers, settings
from desk.staff.models import StaffRole


def cmd_staff(args: argparse.Namespace) -> int:
    """Staff accounts: add (or reactivate) and deactivate."""
    # Imported when this command runs: `desk --help` and the other commands start fast.
    from desk.core.errors import DeskError
    from desk.db import connected
    from desk.helppoints import assignment
    from desk.staff import services

    async def run() -> int:
        async with connected(settings().database_url):
            if args.action == "add":
                try:
                    member = await services.add_staff(
                        email=args.email,
                        display_name=args.name or args.email,
                        role=StaffRole(args.role),
                        # Only a published entry of the directory: the shared view pairs by name.
                        help_point=await assignment.checked_name(args.help_point or ""),
                    )
                except DeskError as exc:
                    print(exc.message, file=sys.stderr)
                    if exc.message == assignment.UNKNOWN:
                        # Say what may be typed, and how to add the place that is missing.
                        names = await assignment.published_names()
                        print("Points d'aide publiés :", file=sys.stderr)
                        for name in names or ["(aucun : l'annuaire est vide)"]:
                            print(f"  - {name}", file=sys.stderr)
                        print(assignment.HOW_TO_ADD, file=sys.stderr)
                    return 1
                print(f"Compte {member.id} actif : rôle {member.role.value}.")
                return 0
            if await services.deactivate_staff(email=args.email):
                print("Compte désactivé.")
                return 0
            print("Aucun compte actif à cette adresse.", file=sys.stderr)
            return 1

    return asyncio.run(run())


def register(sub: Subparsers) -> None:
    p = sub.add_parser("staff", help="staff accounts (back office, mediators, committee, admins)")
    p.add_argument("action", choices=["add", "deactivate"])
    p.add_argument("email")
    p.add_argument("--name", help="display name")
    p.add_argument("--role", default="back_office", choices=[r.value for r in StaffRole])
    p.add_argument(
        "--help-point",
        help="digital-help point of a mediator: the exact name of a published entry of the "
        "directory (/points-d-aide)",
    )
    p.set_defaults(func=cmd_staff)
