"""At scale, on PostgreSQL: dashboard p99, statistics page time, and 2 web + 2 workers vs 1 + 1.

Run (after bench/scale_data.py filled the database):
    .venv/bin/python bench/scale.py postgres://postgres@127.0.0.1:5432/desk_h_bench_scale

1. Dashboard: one `desk serve`, 64 connections, residents of the generated 1.3 million
   logged in through the real flow (each with generated requests), wrk GETs /mon-espace.
2. Statistics: /statistiques (the last twelve months, some 1.7 million deliveries), timed
   one request after another.
3. Scaling: the dashboard under wrk while workers send webhooks to the reference partner
   (a fresh queue of discovery requests each time), with 1 web process + 1 worker, then
   2 + 2 (`desk serve --workers 2`, two `desk worker`). Both rates are reported, and the
   gain of each. The load generator (wrk) runs on the same 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import desk_setup  # noqa: E402
from bench.harness import (  # noqa: E402
    WrkResult,
    bare_baseline,
    desk_command,
    desk_env,
    free_port,
    machine_facts,
    print_facts,
    process,
    profiled,
    ratio,
    wait_port,
    wrk,
)
from desk.db import connected  # noqa: E402
from desk.mail.sink import MailSink, SmtpSinkServer  # noqa: E402
from desk.partners.channels import configure_channel  # noqa: E402
from desk.partners.webhooks import new_secret  # noqa: E402
from desk.registry.models import Signatory  # noqa: E402
from desk.requests.models import RequestKind  # noqa: E402
from desk.requests.services import file_request  # noqa: E402
from desk.settings import Settings  # noqa: E402

# The partner listens on 127.0.0.1 (the desk processes get DESK_PARTNER_ALLOWED_NETWORKS).
LOCAL_NETWORKS = Settings(
    partner_allowed_networks=desk_setup.LOCAL_PARTNER_NETWORKS
).partner_networks

RESIDENTS_LOGGED_IN = 16


async def sql(url: str, query: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(query))
    finally:
        await conn.close()


async def residents_with_requests(url: str, count: int) -> list[str]:
    # Others each run: an address asking for login links too often is (rightly) throttled.
    first = random.randrange(1, 900_000)
    rows = await sql(
        url,
        "SELECT DISTINCT r.email FROM rights_request q JOIN resident r ON r.id = q.resident_id "
        f"WHERE q.id BETWEEN {first} AND {first + count * 3} AND r.email LIKE 'r%' "
        f"LIMIT {count}",
    )
    return [str(row["email"]) for row in rows]


async def webhook_channels(url: str, *, partner_url: str, secret: str, secret_key: str) -> None:
    async with connected(url):
        for slug in await Signatory.all().values_list("slug", flat=True):
            await configure_channel(
                slug=str(slug),
                adapter="webhook",
                settings={"url": partner_url + "/webhooks/desk", "secrets": [secret]},
                secret_key=secret_key,
                allowed_networks=LOCAL_NETWORKS,
            )


async def fill_queue(url: str, residents: list[int], requests: int) -> int:
    """Discovery requests (40 deliveries each); returns the first new request id."""
    async with connected(url):
        first = 0
        for n in range(requests):
            filed = await file_request(
                resident_id=residents[n % len(residents)], kind=RequestKind.DISCOVERY
            )
            first = first or filed.id
        return first


async def sent_since(url: str, first_request: int) -> int:
    rows = await sql(
        url,
        "SELECT count(*) AS n FROM delivery "
        f"WHERE request_id >= {first_request} AND state <> 'pending'",
    )
    return int(rows[0]["n"])


def statistics_times(base: str, runs: int) -> list[float]:
    times = []
    with httpx.Client(base_url=base, timeout=120) as client:
        for _ in range(runs):
            started = time.monotonic()
            client.get("/statistiques").raise_for_status()
            times.append(time.monotonic() - started)
    return times


@contextlib.contextmanager
def workers(count: int, env: dict[str, str], log_dir: Path) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        for n in range(count):
            stack.enter_context(
                process(desk_command("worker"), env=desk_env(env), log=log_dir / f"worker{n}.log")
            )
        yield


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database_url", help="the database bench/scale_data.py filled")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=8, help="jobs at once per worker")
    parser.add_argument("--queue", type=int, default=300, help="discovery requests per run")
    parser.add_argument("--warmup", type=int, default=15, help="seconds before measuring workers")
    parser.add_argument("--profile", help="py-spy stacks of the dashboard's web process")
    args = parser.parse_args()
    url = args.database_url
    print_facts(machine_facts(url))
    with tempfile.TemporaryDirectory(prefix="desk-bench-") as tmp:
        work = Path(tmp)
        sink = MailSink(limit=5000)
        smtp = SmtpSinkServer(sink, port=0)
        smtp.start()
        port, partner_port = free_port(), free_port()
        base, partner = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{partner_port}"
        env = desk_setup.settings_env(
            database_url=url,
            data_dir=work / "data",
            smtp_port=smtp.port,
            base_url=base,
            DESK_WORKER_CONCURRENCY=str(args.concurrency),
        )
        settings = desk_setup.settings_from(env)
        started = time.monotonic()
        desk_setup.migrate(env)
        print(f"migrations (indexes included) in {time.monotonic() - started:.1f} s", flush=True)
        secret = new_secret()
        asyncio.run(
            webhook_channels(
                url, partner_url=partner, secret=secret, secret_key=settings.secret_key
            )
        )
        emails = asyncio.run(residents_with_requests(url, RESIDENTS_LOGGED_IN))
        ids = [int(e[1:].split("@")[0]) + 1000 for e in emails]
        cookie_lines = ""
        results: dict[int, tuple[WrkResult, float]] = {}
        partner_cmd = desk_command(
            "partner-sim", "--port", str(partner_port), "--webhook-secret", secret
        )
        with process(
            [*partner_cmd, "--no-auto-answer"], env=desk_env(env), log=work / "partner.log"
        ):
            wait_port(partner_port)
            for count in (1, 2):
                serve = desk_command("serve", "--port", str(port), "--workers", str(count))
                log = work / "serve.log"
                with process(serve, env=desk_env(env), log=log, ready_url=base) as server:
                    if not cookie_lines:
                        cookie_lines = "\n".join(
                            desk_setup.cookie_header(
                                asyncio.run(desk_setup.log_in(base, settings, sink, email=e))
                            )
                            for e in emails
                        )
                        variables = {"cookies": cookie_lines}
                        dash_url = base + "/mon-espace"
                        wrk(dash_url, connections=args.connections, seconds=3,
                            script="get_rotating.lua", variables=variables)  # fmt: skip
                        # One web process: uvicorn serves in the process it was started as.
                        with profiled(server.pid, args.profile, seconds=args.seconds):
                            alone = wrk(
                                dash_url,
                                connections=args.connections,
                                seconds=args.seconds,
                                script="get_rotating.lua",
                                variables=variables,
                            )
                        stats = statistics_times(base, 5)
                    # Filed for other residents: the dashboards measured keep their size.
                    others = [i + 1 for i in ids if i + 1 not in ids]
                    first = asyncio.run(fill_queue(url, others, args.queue))
                    with workers(count, env, work):
                        # Each worker's first maintenance pass (retention, charter deadlines)
                        # runs at start: measured after it, as in a long-running deployment.
                        time.sleep(args.warmup)
                        before = asyncio.run(sent_since(url, first))
                        window = time.monotonic()
                        mixed = wrk(
                            base + "/mon-espace",
                            connections=args.connections,
                            seconds=args.seconds,
                            script="get_rotating.lua",
                            variables={"cookies": cookie_lines},
                        )
                        sent = asyncio.run(sent_since(url, first)) - before
                        rate = sent / (time.monotonic() - window)
                    asyncio.run(
                        sql(url, "UPDATE outbox_job SET state = 'done' WHERE state = 'pending'")
                    )
                    results[count] = (mixed, rate)
        smtp.stop()
        bare = bare_baseline(work, connections=args.connections, seconds=args.seconds)
    print(bare.line(f"bare Starlette plaintext, {args.connections} connections"))
    print(alone.line(f"dashboard at scale (PostgreSQL, {len(emails)} residents in turn)"))
    print(
        f"dashboard = {ratio(alone.rps, bare.rps)} of bare, p99 {alone.p99_ms:.1f} ms "
        "(target < 50 ms)"
    )
    print(
        f"statistics page (last 12 months): median {statistics.median(stats):.2f} s, "
        f"max {max(stats):.2f} s over {len(stats)} (target < 1 s)"
    )
    for count, (result, rate) in results.items():
        print(result.line(f"{count} web + {count} worker(s): dashboard"))
        print(f"{count} web + {count} worker(s): webhooks sent meanwhile {rate:,.0f}/s")
    (one, one_rate), (two, two_rate) = results[1], results[2]
    print(
        f"2+2 vs 1+1: dashboard x{two.rps / one.rps:.2f}, "
        f"webhooks x{two_rate / max(one_rate, 1):.2f} (target x1.3)"
    )


if __name__ == "__main__":
    main()
