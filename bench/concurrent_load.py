"""Issue 18's intake and end-to-end figures (and issue 13's mixed workload): nothing lost, how fast.

Run: .venv/bin/python bench/concurrent_load.py [--mode intake,everywhere,e2e] [--requests N]
     [--residents 50] [--concurrency 10] [--postgres URL_OF_A_SERVER [--sqlite]]
     [--worker-after] [--worker-nice N] [--worker-concurrency N] [--worker-intake-yield S]
     [--history N]
     [--profile PREFIX]

`desk serve`, one `desk worker` and `desk partner-sim` processes (one per webhook signatory,
answering through the partner API), the other signatories simulated. Residents log in through
the mailed link, then file erasures through one httpx client at the given concurrency:

- intake: one signatory each (500 filings, the 11 demo signatories in turn);
- everywhere: "erase everywhere" to 40 signatories (100 filings);
- e2e: one signatory each, the reference partner answering by API (500 filings);
- mixed: issue 13's workload, half of them "erase everywhere" to 11 signatories, one webhook
  partner answering meanwhile (300 filings).

Printed per mode: filings/s beside the bare Starlette app through the same client in the same
run, their p50/p99, CPU ms per filing of `desk serve`; requests completed per second end to
end (first filing to the last receipt logged), CPU ms per delivery of the worker and of the
partner simulator; nothing lost: every filing answered 303 and whole in the database, every
request in a final state, every erasure's receipt verified, `desk audit verify`.
With --postgres, a throwaway database is created on that server and dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
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

from bench.harness import bare_app, client_gc_held, machine_facts, print_facts  # noqa: E402
from bench.load import MODES, LoadResult, run_load  # noqa: E402
from desk.settings import Settings  # noqa: E402


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

        with client_gc_held():
            started = time.perf_counter()
            await asyncio.gather(*(one() for _ in range(requests)))
            elapsed = time.perf_counter() - started
    return requests / elapsed, _p(latencies, 99)


def _p(values: list[float], pct: int) -> float:
    if len(values) < 2:
        return 1000 * (values[0] if values else 0.0)
    return 1000 * statistics.quantiles(values, n=100)[pct - 1]


# Per mode: filings, signatories in all (None: the 11 of the demo), webhook partners.
DEFAULTS: dict[str, tuple[int, int | None, int]] = {
    "intake": (500, None, 0),
    "everywhere": (100, 40, 0),
    "e2e": (500, None, 1),
    "mixed": (300, None, 1),
}


async def on_postgres(server: str, args: argparse.Namespace, mode: str, work: Path) -> LoadResult:
    name = f"{args.database_prefix}_{secrets.token_hex(4)}"
    parts = urlsplit(server)
    admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        return await _run(urlunsplit(parts._replace(path=f"/{name}")), args, mode, work)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _run(database_url: str, args: argparse.Namespace, mode: str, work: Path) -> LoadResult:
    requests, signatories, partners = DEFAULTS[mode]
    profile = f"{args.profile}.{mode}.{'pg' if 'postgres' in database_url else 'sqlite'}"
    return await run_load(
        work=work,
        database_url=database_url,
        requests=args.requests or requests,
        residents=args.residents,
        concurrency=args.concurrency,
        webhook_partners=partners if args.webhook_partners is None else args.webhook_partners,
        settle_timeout=args.settle,
        mode=mode,
        signatories=args.signatories or signatories,
        profile=profile if args.profile else None,
        worker_during_filing=not args.worker_after,
        worker_nice=Settings.worker_nice if args.worker_nice is None else args.worker_nice,
        worker_concurrency=args.worker_concurrency,
        worker_intake_yield=args.worker_intake_yield,
        history=args.history,
    )


def report(db: str, mode: str, result: LoadResult, bare_rps: float, bare_p99: float) -> None:
    filed = result.requests_filed
    requests = sum(result.filing_statuses.values())
    lost = requests - filed + len(result.open_requests) + len(result.filing_problems)
    rate = filed / result.filing_seconds if result.filing_seconds else 0.0
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    worker = "worker during the filings" if result.worker_during_filing else "worker after"
    worker += f" at nice {result.worker_nice}, {result.worker_concurrency} jobs at once"
    worker += f", holding back {result.worker_intake_yield} s at most while residents file"
    if result.history:
        worker += f"; after {result.history} filings completed (history)"
    print(
        f"\n== {db}, {mode}: {requests} erasure filings, "
        f"{result.signatories_per_filing:.1f} signatories each, {worker}; load average now {load}"
    )
    print(f"filing answers: {result.filing_statuses}; deliveries: {result.deliveries}")
    print(
        f"lost or in error: {lost} of {requests} (never completed: {len(result.open_requests)}, "
        f"not whole: {len(result.filing_problems)}); "
        f"5xx / locked lines in logs: {len(result.server_errors)}; "
        f"receipts {result.receipts}, problems: {len(result.receipt_problems)}; partner retries: "
        f"{result.partner_retries}; desk audit verify exit {result.audit_exit}"
    )
    p50, p99 = _p(result.filing_latencies, 50), _p(result.filing_latencies, 99)
    print(
        f"filings: {rate:,.1f}/s = {rate / bare_rps:.3f}x bare through the same client, "
        f"p50 {p50:.0f} ms, p99 {p99:.0f} ms; "
        f"desk serve {1000 * result.web_cpu_filing / max(1, filed):.2f} ms CPU per filing"
        + (
            f", PostgreSQL {1000 * result.database_cpu_filing / max(1, filed):.2f} ms"
            if db == "PostgreSQL"
            else ""
        )
    )
    print(
        f"completed end to end: {result.completed_per_second:,.1f} requests/s "
        f"({filed} requests, {result.deliveries} deliveries in {result.completed_seconds:.1f} s)"
    )
    deliveries = max(1, result.deliveries)
    print(
        f"CPU, first filing to last completed: desk worker "
        f"{1000 * result.worker_cpu / deliveries:.2f} ms per delivery (all its jobs); "
        f"desk serve {1000 * result.web_cpu / max(1, filed):.2f} ms per request (filing, "
        f"API answers); partner-sim {1000 * result.partner_cpu / deliveries:.2f} ms per delivery"
    )
    print(f"bare Starlette through the same client: {bare_rps:,.0f} req/s, p99 {bare_p99:.0f} ms")
    problems = result.server_errors + result.receipt_problems + result.filing_problems
    for line in (problems + result.partner_errors)[:10]:
        print("  !", line)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--mode",
        default="intake,everywhere,e2e",
        help=f"comma-separated, in order, among {', '.join(MODES)}",
    )
    parser.add_argument("--requests", type=int, help="filings per mode (default: per mode)")
    parser.add_argument("--residents", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--signatories", type=int, help="signatories in all (default: per mode)")
    parser.add_argument("--webhook-partners", type=int, help="default: per mode")
    parser.add_argument("--settle", type=float, default=900.0, help="seconds to wait at most")
    parser.add_argument("--postgres", help="a PostgreSQL server URL (a database is created)")
    parser.add_argument("--sqlite", action="store_true", help="SQLite too when --postgres")
    parser.add_argument(
        "--database-prefix",
        default="desk_bench_load",
        help="the throwaway database's name: PREFIX_<random> (several runs at once on one server)",
    )
    parser.add_argument(
        "--worker-after",
        action="store_true",
        help="the worker stops during the filings (starts again after the last one)",
    )
    parser.add_argument(
        "--worker-nice",
        type=int,
        help="the worker's nice level, DESK_WORKER_NICE (default: the desk's, "
        f"{Settings.worker_nice}: `desk serve` gets the CPU first; 0: the same as the web's)",
    )
    parser.add_argument(
        "--worker-concurrency",
        type=int,
        default=Settings.worker_concurrency,
        help="jobs the worker runs at once, DESK_WORKER_CONCURRENCY (default: the desk's, "
        f"{Settings.worker_concurrency})",
    )
    parser.add_argument(
        "--worker-intake-yield",
        type=float,
        default=Settings.worker_intake_yield,
        help="most seconds the worker waits between two claims while residents are filing, "
        f"DESK_WORKER_INTAKE_YIELD (default: the desk's, {Settings.worker_intake_yield}; 0: never)",
    )
    parser.add_argument(
        "--history",
        type=int,
        default=0,
        help="filings of the same kind filed and completed before the measure, then (PostgreSQL) "
        "ANALYZE: a desk in operation rather than a database seconds old",
    )
    parser.add_argument(
        "--profile",
        help="py-spy's collapsed stacks to PREFIX.<mode>.<db>.serve.txt (filings), "
        ".worker.txt and .partner.txt (first filing to last completed)",
    )
    args = parser.parse_args()
    modes = [m.strip() for m in args.mode.split(",") if m.strip()]
    if unknown := [m for m in modes if m not in MODES]:
        parser.error(f"unknown mode {unknown[0]!r}: one of {', '.join(MODES)}")
    print_facts(machine_facts(args.postgres))
    with tempfile.TemporaryDirectory(prefix="desk-load-") as tmp:
        work = Path(tmp)

        # The yardstick just before each mode on each database (the box's load moves by the
        # minute when it is shared), then the mode, reported as it ends.
        def bare() -> tuple[float, float]:
            with bare_app(work) as url:
                rps, p99 = asyncio.run(
                    bare_through_client(url, requests=3000, concurrency=args.concurrency)
                )
            print(f"bare Starlette through httpx at {args.concurrency}: {rps:,.0f} req/s")
            return rps, p99

        for mode in modes:
            if not args.postgres or args.sqlite:
                bare_rps, bare_p99 = bare()
                result = asyncio.run(
                    _run(f"sqlite://{work}/{mode}.sqlite3", args, mode, work / f"s-{mode}")
                )
                report("SQLite", mode, result, bare_rps, bare_p99)
            if args.postgres:
                bare_rps, bare_p99 = bare()
                result = asyncio.run(on_postgres(args.postgres, args, mode, work / f"p-{mode}"))
                report("PostgreSQL", mode, result, bare_rps, bare_p99)


if __name__ == "__main__":
    main()
