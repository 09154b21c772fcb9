"""One-click erasure to every signatory: filings/s and p99, vs bare Starlette.

Run: .venv/bin/python bench/erasure.py [--seconds 10] [--connections 64] [--signatories 32]

A real `desk serve` on loopback and a fresh SQLite database (or the PostgreSQL database given)
with the demo register plus made-up signatories (32 in all). The resident logs in through the
real flow; wrk then POSTs the form of /mon-espace/supprimer?tous=1 naming every signatory,
each time with a fresh submission key: every answer (a 303 to the new request) is one
request filed, with one delivery, one audit event and one outbox job per signatory.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import desk_setup  # noqa: E402
from bench.harness import bare_baseline, machine_facts, print_facts, profiled, ratio, wrk  # noqa: E402
from desk.db import connected  # noqa: E402
from desk.registry.models import CharterStatus, Signatory  # noqa: E402
from desk.requests.models import Delivery, RequestKind, RightsRequest  # noqa: E402


async def signatory_slugs(database_url: str) -> list[str]:
    async with connected(database_url):
        slugs = (
            await Signatory.filter(charter_status=CharterStatus.SIGNED)
            .order_by("slug")
            .values_list("slug", flat=True)
        )
        return [str(slug) for slug in slugs]


async def filed(database_url: str) -> tuple[int, int]:
    async with connected(database_url):
        requests = await RightsRequest.filter(kind=RequestKind.ERASURE).count()
        deliveries = await Delivery.filter(request__kind=RequestKind.ERASURE).count()
        return requests, deliveries


def main() -> None:
    args = desk_setup.web_arguments(__doc__ or "", signatories=32).parse_args()
    print_facts(machine_facts())
    with desk_setup.served_desk(args) as desk_run:
        slugs = asyncio.run(signatory_slugs(desk_run.database_url))
        before = asyncio.run(filed(desk_run.database_url))
        variables = {
            "cookie": desk_setup.cookie_header(desk_run.cookies),
            "csrf": desk_run.cookies.get("csrftoken") or "",
            "form": urlencode([("signatory", s) for s in slugs]),
            "run": secrets.token_hex(4),
        }
        with profiled(desk_run.server.pid, args.profile, seconds=args.seconds):
            desk = wrk(
                desk_run.base + "/mon-espace/demandes",
                connections=args.connections,
                seconds=args.seconds,
                script="erasure.lua",
                variables=variables,
            )
        after = asyncio.run(filed(desk_run.database_url))
        desk_run.stop()
        bare = bare_baseline(desk_run.work, connections=args.connections, seconds=args.seconds)
    db = "PostgreSQL" if args.postgres else "SQLite"
    requests, deliveries = after[0] - before[0], after[1] - before[1]
    print(bare.line(f"bare Starlette plaintext, {args.connections} connections"))
    print(desk.line(f"erasure filings to {len(slugs)} signatories ({db})"))
    print(
        f"checked in the database: {requests} erasure requests, {deliveries} deliveries "
        f"({deliveries / max(1, requests):.0f} per request)"
    )
    print(
        f"erasure = {desk.rps:,.0f} filings/s (target >= 1,000/s), "
        f"{ratio(desk.rps, bare.rps)} of bare requests/s, "
        f"p99 {desk.p99_ms:.1f} ms (target < 100 ms)"
    )


if __name__ == "__main__":
    main()
