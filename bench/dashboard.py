"""Resident dashboard (/mon-espace): requests/s and p99 at 64 connections, vs bare Starlette.

Run: .venv/bin/python bench/dashboard.py [--seconds 10] [--connections 64] [--postgres URL]
     [--requests N] [--path /mon-espace/demandes/{latest}] [--profile FILE]

A real `desk serve` on loopback, a fresh SQLite database (or the PostgreSQL database given),
the demo register plus made-up signatories (40 in all), and one resident with a history
(a discovery answered by every signatory, an access and an erasure request in progress),
logged in through the real flow. wrk then GETs /mon-espace with that browser's cookies.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import desk_setup  # noqa: E402
from bench.harness import (  # noqa: E402
    bare_baseline,
    cpu_seconds,
    machine_facts,
    print_facts,
    profiled,
    ratio,
    wrk,
)


def _url(desk_run: desk_setup.ServedDesk, path: str) -> str:
    """`{latest}` in the path stands for the resident's newest request's reference."""
    if "{latest}" in path:
        listing = httpx.get(desk_run.base + "/mon-espace/demandes", cookies=desk_run.cookies)
        found = re.search(r'href="/mon-espace/demandes/([A-Z0-9-]+)"', listing.text)
        assert found, "no request listed"
        path = path.replace("{latest}", found.group(1))
    return desk_run.base + path


def main() -> None:
    parser = desk_setup.web_arguments(__doc__ or "", signatories=40)
    parser.add_argument(
        "--path",
        default="/mon-espace",
        help="the page to load ({latest}: the newest request's reference), e.g. "
        "/mon-espace/demandes/{latest}",
    )
    args = parser.parse_args()
    print_facts(machine_facts())
    with desk_setup.served_desk(args) as desk_run:
        variables = {"cookie": desk_setup.cookie_header(desk_run.cookies)}
        url = _url(desk_run, args.path)
        # A short warm-up (first queries, template compilation), then the measure.
        wrk(url, connections=args.connections, seconds=2, script="get_with_cookie.lua",
            variables=variables)  # fmt: skip
        cpu_before = cpu_seconds(desk_run.server.pid)
        with profiled(desk_run.server.pid, args.profile, seconds=args.seconds):
            desk = wrk(
                url,
                connections=args.connections,
                seconds=args.seconds,
                script="get_with_cookie.lua",
                variables=variables,
            )
        cpu_ms = 1000 * (cpu_seconds(desk_run.server.pid) - cpu_before) / max(1, desk.requests)
        desk_run.stop()
        bare = bare_baseline(desk_run.work, connections=args.connections, seconds=args.seconds)
    db = "PostgreSQL" if args.postgres else "SQLite"
    print(bare.line(f"bare Starlette plaintext, {args.connections} connections"))
    print(
        desk.line(
            f"dashboard {args.path} ({db}, {args.signatories} signatories, "
            f"{args.requests} requests)"
        )
    )
    print(
        f"dashboard = {ratio(desk.rps, bare.rps)} of bare requests/s (target >= 10%), "
        f"p99 {desk.p99_ms:.1f} ms (target < 100 ms at 10 connections); "
        f"server CPU {cpu_ms:.2f} ms/page"
    )


if __name__ == "__main__":
    main()
