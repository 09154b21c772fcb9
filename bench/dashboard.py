"""Resident dashboard (/mon-espace): requests/s and p99 at 64 connections, vs bare Starlette.

Run: .venv/bin/python bench/dashboard.py [--seconds 10] [--connections 64] [--postgres URL]

A real `desk serve` on loopback, a fresh SQLite database (or the PostgreSQL database given),
the demo register plus made-up signatories (40 in all), and one resident with a history
(a discovery answered by every signatory, an access and an erasure request in progress),
logged in through the real flow. wrk then GETs /mon-espace with that browser's cookies.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

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
from desk.mail.sink import MailSink, SmtpSinkServer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--signatories", type=int, default=40)
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
            env = desk_setup.settings_env(
                database_url=args.postgres or sqlite_url(work),
                data_dir=work / "data",
                smtp_port=smtp.port,
                base_url=base,
            )
            asyncio.run(desk_setup.prepare(env, signatories=args.signatories))
            settings = desk_setup.settings_from(env)
            with process(
                desk_command("serve", "--port", str(port)),
                env=desk_env(env),
                log=work / "serve.log",
                ready_url=base + "/",
            ) as server:
                cookies = asyncio.run(desk_setup.log_in(base, settings, sink))
                variables = {"cookie": desk_setup.cookie_header(cookies)}
                url = base + "/mon-espace"
                wrk(
                    url,
                    connections=args.connections,
                    seconds=2,
                    script="get_with_cookie.lua",
                    variables=variables,
                )
                with profiled(server.pid, args.profile, seconds=args.seconds):
                    desk = wrk(
                        url,
                        connections=args.connections,
                        seconds=args.seconds,
                        script="get_with_cookie.lua",
                        variables=variables,
                    )
            bare = bare_baseline(work, connections=args.connections, seconds=args.seconds)
        finally:
            smtp.stop()
    db = "PostgreSQL" if args.postgres else "SQLite"
    print(bare.line(f"bare Starlette plaintext, {args.connections} connections"))
    print(desk.line(f"dashboard /mon-espace ({db}, {args.signatories} signatories)"))
    print(
        f"dashboard = {ratio(desk.rps, bare.rps)} of bare requests/s (target >= 25%), "
        f"p99 {desk.p99_ms:.1f} ms (target < 50 ms)"
    )


if __name__ == "__main__":
    main()
