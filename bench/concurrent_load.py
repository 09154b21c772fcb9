"""Issue 13's workload at full size: nothing lost under concurrent load, and how fast.

Run: .venv/bin/python bench/concurrent_load.py [--requests 500] [--residents 50]
     [--concurrency 10] [--webhook-partners 1] [--postgres URL_OF_A_SERVER]

`desk serve`, one `desk worker` and `desk partner-sim` processes (one per webhook signatory,
answering through the partner API), the 11 demo signatories (the others simulated). Residents
log in through the mailed link, then file erasures through one httpx client at the given
concurrency, half of them "erase everywhere". Printed: requests lost or in error, filings/s
and their p50/p99, requests completed per second end to end (filing to the last receipt
logged), and the bare Starlette app through the same client in the same run as yardstick.
With --postgres, a throwaway database is created on that server and dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import bare_app, machine_facts, print_facts  # noqa: E402
from bench.load import LoadResult, run_load  # noqa: E402


async def bare_through_client(url: str, *, requests: int, concurrency: int) -> tuple[float, float]:
    """Requests/s and p99 (ms) of the bare app through httpx at `concurrency`."""
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def one() -> None:
            async with gate:
                started = time.perf_counter()
                (await client.get(url)).raise_for_status()
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(requests)))
        elapsed = time.perf_counter() - started
    return requests / elapsed, _p(latencies, 99)


def _p(values: list[float], pct: int) -> float:
    if len(values) < 2:
        return 1000 * (values[0] if values else 0.0)
    return 1000 * statistics.quantiles(values, n=100)[pct - 1]


async def on_postgres(server: str, args: argparse.Namespace, work: Path) -> LoadResult:
    name = f"desk_bench_load_{secrets.token_hex(4)}"
    parts = urlsplit(server)
    admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        return await _run(urlunsplit(parts._replace(path=f"/{name}")), args, work)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _run(database_url: str, args: argparse.Namespace, work: Path) -> LoadResult:
    return await run_load(
        work=work,
        database_url=database_url,
        requests=args.requests,
        residents=args.residents,
        concurrency=args.concurrency,
        webhook_partners=args.webhook_partners,
        settle_timeout=args.settle,
    )


def report(db: str, result: LoadResult, bare_rps: float, bare_p99: float, requests: int) -> None:
    filed = result.requests_filed
    lost = requests - filed + len(result.open_requests)
    rate = filed / result.filing_seconds if result.filing_seconds else 0.0
    print(f"\n== {db}")
    print(f"filing answers: {result.filing_statuses}; deliveries: {result.deliveries}")
    print(
        f"lost or in error: {lost} of {requests} (never completed: {len(result.open_requests)}); "
        f"5xx / locked lines in logs: {len(result.server_errors)}; "
        f"receipt problems: {len(result.receipt_problems)}; partner retries: "
        f"{result.partner_retries}; desk audit verify exit {result.audit_exit}"
    )
    p50, p99 = _p(result.filing_latencies, 50), _p(result.filing_latencies, 99)
    print(
        f"filings: {rate:,.1f}/s = {rate / bare_rps:.3f}x bare through the same client, "
        f"p50 {p50:.0f} ms, p99 {p99:.0f} ms"
    )
    print(
        f"completed end to end: {result.completed_per_second:,.1f} requests/s "
        f"({filed} requests, {result.deliveries} deliveries in {result.completed_seconds:.1f} s)"
    )
    print(f"bare Starlette through the same client: {bare_rps:,.0f} req/s, p99 {bare_p99:.0f} ms")
    print(
        f"CPU: desk serve {1000 * result.web_cpu_filing / max(1, filed):.1f} ms per filing; "
        f"desk worker {1000 * result.worker_cpu / max(1, result.deliveries):.1f} ms per delivery "
        f"(all its jobs, from the first filing to the last request completed)"
    )
    for line in (result.server_errors + result.receipt_problems)[:10]:
        print("  !", line)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--residents", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--webhook-partners", type=int, default=1)
    parser.add_argument("--settle", type=float, default=900.0, help="seconds to wait at most")
    parser.add_argument("--postgres", help="a PostgreSQL server URL (a database is created)")
    parser.add_argument("--sqlite", action="store_true", help="SQLite too when --postgres")
    args = parser.parse_args()
    print_facts(machine_facts(args.postgres))
    with tempfile.TemporaryDirectory(prefix="desk-load-") as tmp:
        work = Path(tmp)
        # The yardstick first, on a quiet machine, then each database, reported as it ends.
        with bare_app(work) as url:
            bare_rps, bare_p99 = asyncio.run(
                bare_through_client(url, requests=3000, concurrency=args.concurrency)
            )
        if not args.postgres or args.sqlite:
            result = asyncio.run(_run(f"sqlite://{work}/load.sqlite3", args, work / "s"))
            report("SQLite", result, bare_rps, bare_p99, args.requests)
        if args.postgres:
            result = asyncio.run(on_postgres(args.postgres, args, work / "p"))
            report("PostgreSQL", result, bare_rps, bare_p99, args.requests)


if __name__ == "__main__":
    main()
