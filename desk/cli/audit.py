"""`desk audit verify|checkpoint`: check the receipts chain, the delivery trails and the audit
log, or sign an audit-log checkpoint."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from desk.cli._common import Subparsers, settings


def cmd_audit(args: argparse.Namespace) -> int:
    # Imported when this command runs: `desk --help` and the other commands start fast.
    from desk.audit.checkpoint import run_checkpoint, run_log_audit
    from desk.receipts.audit import run_audit

    current = settings()
    if args.action == "checkpoint":
        out = Path(args.out) if args.out else None
        return asyncio.run(run_checkpoint(settings=current, out=out))
    receipts = asyncio.run(run_audit(settings=current))
    checkpoint = Path(args.checkpoint) if args.checkpoint else None
    actions = asyncio.run(run_log_audit(settings=current, checkpoint_path=checkpoint))
    return max(receipts, actions)


def register(sub: Subparsers) -> None:
    p = sub.add_parser(
        "audit", help="verify the receipts chain, the delivery trails and the audit log; or sign"
    )
    p.add_argument("action", choices=["verify", "checkpoint"])
    p.add_argument("--checkpoint", metavar="FILE", help="an audit-log checkpoint to check (verify)")
    p.add_argument("--out", metavar="FILE", help="write the signed checkpoint here (checkpoint)")
    p.set_defaults(func=cmd_audit)
