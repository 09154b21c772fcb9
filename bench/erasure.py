"""One-click erasure to every signatory: filings/s and p99, vs bare Starlette.

Run: .venv/bin/python bench/erasure.py [--seconds 10] [--connections 64] [--signatories 32]

A real `desk serve` on loopback and a fresh SQLite database (or the PostgreSQL database given)
with the demo register plus made-up signatories (32 in all). The resident logs in through the
real flow; wrk then POSTs the form of /mon-espace/supprimer?tous=1 naming every signatory,
each time with a fresh submission key: every answer (a 303 to the new request) is one
request filed, with one delivery, one audit event and one outbox job per signatory.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import desk_setup  # noqa: E402
from bench.harness import (  # noqa: E402
    bare_baseline,
    desk_command,
    desk_env,
    free_port,
    machine_facts,
    print_facts,
    process,
    profiled,
    ratio,
    sqlite_url,
    wrk,
)
from desk.db import connected  # noqa: E402
from desk.mail.sink import MailSink, SmtpSinkServer  # noqa: E402
from desk.registry.models import CharterStatus, Signatory  # noqa: E402
from desk.requests.models import Delivery, RequestKind, RightsRequest  # noqa: E402


async def signatory_slugs(database_url: str) -> list[str]:
    async with connected(database_url):
        return list(
            await Signatory.filter(charter_status=CharterStatus.SIGNED)
            .order_by("slug")
            .values_list("slug", flat=True)
        )


async def filed(database_url: str) -> tuple[int, int]:
    async with connected(database_url):
        requests = await RightsRequest.filter(kind=RequestKind.ERASURE).count()
        deliveries = await Delivery.filter(request__kind=RequestKind.ERASURE).count()
        return requests, deliveries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--signatories", type=int, default=32)
    parser.add_argument("--postgres", help="an EMPTY PostgreSQL database URL (default: SQLite)")
    parser.add_argument("--profile", help="write py-spy's collapsed stacks of the server here")
    args = parser.parse_args()
    print_facts(machine_facts())
    with tempfile.TemporaryDirectory(prefix="desk-bench-") as tmp:
        work = Path(tmp)
        sink = MailSink()
        smtp = SmtpSinkServer(sink, port=0)
        smtp.start()
        try:
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            database_url = args.postgres or sqlite_url(work)
            env = desk_setup.settings_env(
                database_url=database_url,
                data_dir=work / "data",
                smtp_port=smtp.port,
                base_url=base,
            )
            asyncio.run(desk_setup.prepare(env, signatories=args.signatories))
            settings = desk_setup.settings_from(env)
            slugs = asyncio.run(signatory_slugs(database_url))
            before = asyncio.run(filed(database_url))
            with process(
                desk_command("serve", "--port", str(port)),
                env=desk_env(env),
                log=work / "serve.log",
                ready_url=base + "/",
            ) as server:
                cookies = asyncio.run(desk_setup.log_in(base, settings, sink))
                variables = {
                    "cookie": desk_setup.cookie_header(cookies),
                    "csrf": cookies.get("csrftoken") or "",
                    "form": urlencode([("signatory", s) for s in slugs]),
                    "run": secrets.token_hex(4),
                }
                url = base + "/mon-espace/demandes"
                with profiled(server.pid, args.profile, seconds=args.seconds):
                    desk = wrk(
                        url,
                        connections=args.connections,
                        seconds=args.seconds,
                        script="erasure.lua",
                        variables=variables,
                    )
            after = asyncio.run(filed(database_url))
            bare = bare_baseline(work, connections=args.connections, seconds=args.seconds)
        finally:
            smtp.stop()
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
