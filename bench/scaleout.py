"""Scaling out: webhook deliveries/s of 1 worker, then of 4, to a partner answering in 50 ms.

Run: .venv/bin/python bench/scaleout.py --postgres URL_OF_AN_EMPTY_DATABASE
     [--deliveries 3000] [--workers 4] [--lanes 1] [--delay 0.05]

PostgreSQL only (on SQLite one worker works, the others stand by). The queue is filled
(discovery requests to 40 webhook signatories, all pointing at `bench/slow_partner.py`), then
one `desk worker` drains it between 5 % and 30 % of the queue, is stopped, and `--workers`
workers drain it between 40 % and 90 %. Each worker runs `--lanes` jobs at once
(DESK_WORKER_CONCURRENCY). The partner waits, the workers wait: N workers should deliver N
times what one does unless something is shared (a lock, one connection) — the issue's target
is 4 workers >= 3.5 x 1. Printed with the workers' CPU milliseconds per delivery.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import desk_setup  # noqa: E402
from bench.fanout import fill_deliveries  # noqa: E402
from bench.harness import (  # noqa: E402
    PYTHON,
    cpu_seconds,
    desk_command,
    desk_env,
    free_port,
    machine_facts,
    print_facts,
    process,
    wait_port,
)
from desk.db import connected  # noqa: E402
from desk.outbox.models import JobState, OutboxJob  # noqa: E402
from desk.partners.webhooks import new_secret  # noqa: E402


async def _done(database_url: str) -> int:
    async with connected(database_url):
        return await OutboxJob.filter(kind="delivery.dispatch", state=JobState.DONE).count()


def measure(
    database_url: str, pids: list[int], low: int, high: int, timeout: float = 900
) -> tuple[float, float]:
    """Deliveries/s while the done count goes from `low` to `high`, and CPU ms per delivery
    of the processes `pids` over the same stretch."""
    start: tuple[float, float, int] | None = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = asyncio.run(_done(database_url))
        now = time.monotonic()
        if start is None and done >= low:
            start = (now, sum(cpu_seconds(p) for p in pids), done)
        if start is not None and done >= high:
            cpu = sum(cpu_seconds(p) for p in pids) - start[1]
            count = done - start[2]
            return count / (now - start[0]), 1000 * cpu / max(1, count)
        time.sleep(0.2)
    return 0.0, 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--postgres", required=True, help="an EMPTY PostgreSQL database URL")
    parser.add_argument("--deliveries", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--lanes", type=int, default=1, help="DESK_WORKER_CONCURRENCY")
    parser.add_argument("--delay", type=float, default=0.05, help="the partner's answer time")
    args = parser.parse_args()
    print_facts(machine_facts(args.postgres))
    with tempfile.TemporaryDirectory(prefix="desk-bench-") as tmp:
        work = Path(tmp)
        partner_port = free_port()
        partner = f"http://127.0.0.1:{partner_port}"
        env = desk_setup.settings_env(
            database_url=args.postgres,
            data_dir=work / "data",
            smtp_port=free_port(),
            base_url="http://127.0.0.1:9",
            DESK_WORKER_CONCURRENCY=str(args.lanes),
            # The workers are what is measured; the slow partner stands for another machine.
            DESK_WORKER_NICE="0",
        )
        desk_setup.migrate(env)
        asyncio.run(desk_setup.seed_only(args.postgres, signatories=40))
        total = asyncio.run(
            fill_deliveries(
                args.postgres, partner_url=partner, secret=new_secret(), total=args.deliveries
            )
        )
        slow = [PYTHON, str(Path(__file__).parent / "slow_partner.py"), str(partner_port)]
        with process(slow + [str(args.delay)], log=work / "partner.log"):
            wait_port(partner_port)
            with process(desk_command("worker"), env=desk_env(env), log=work / "w0.log") as one:
                single = measure(args.postgres, [one.pid], total * 5 // 100, total * 30 // 100)
            with contextlib.ExitStack() as stack:
                many = [
                    stack.enter_context(
                        process(desk_command("worker"), env=desk_env(env), log=work / f"w{n}.log")
                    )
                    for n in range(1, args.workers + 1)
                ]
                several = measure(
                    args.postgres, [w.pid for w in many], total * 40 // 100, total * 90 // 100
                )
    print(
        f"partner answering in {args.delay * 1000:.0f} ms, {args.lanes} job(s) at once per worker"
    )
    print(f"1 worker: {single[0]:,.1f} deliveries/s, worker CPU {single[1]:.2f} ms/delivery")
    print(
        f"{args.workers} workers: {several[0]:,.1f} deliveries/s, "
        f"workers' CPU {several[1]:.2f} ms/delivery; "
        f"x{several[0] / single[0] if single[0] else 0:.2f} of 1 worker "
        f"(target >= x{args.workers * 0.875:.1f})"
    )


if __name__ == "__main__":
    main()
