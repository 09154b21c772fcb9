"""Resident dashboard (/mon-espace): requests/s and p99 at 64 connections, vs bare Starlette.

Run: .venv/bin/python bench/dashboard.py [--seconds 10] [--connections 64] [--postgres URL]

A real `desk serve` on loopback, a fresh SQLite database (or the PostgreSQL database given),
the demo register plus made-up signatories (40 in all), and one resident with a history
(a discovery answered by every signatory, an access and an erasure request in progress),
logged in through the real flow. wrk then GETs /mon-espace with that browser's cookies.
"""

from __future__ import annotations

import sys
from pathlib import Path

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


def main() -> None:
    args = desk_setup.web_arguments(__doc__ or "", signatories=40).parse_args()
    print_facts(machine_facts())
    with desk_setup.served_desk(args) as desk_run:
        variables = {"cookie": desk_setup.cookie_header(desk_run.cookies)}
        url = desk_run.base + "/mon-espace"
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
            f"dashboard /mon-espace ({db}, {args.signatories} signatories, "
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
