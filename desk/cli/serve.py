"""`desk serve` (the web app under uvicorn) and `desk worker` (the outbox worker)."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal

from desk.cli._common import Subparsers, settings


def cmd_serve(args: argparse.Namespace) -> int:
    """uvicorn with production defaults. Each of its worker processes builds its own app from
    the environment (`desk.app:app_from_env`), so what is chosen here goes through it."""
    # Imported when this command runs: `desk --help` and the other commands start fast.
    import uvicorn

    # Also creates DESK_DATA_DIR/secret.key once, before worker processes would race for it.
    current = settings()
    os.environ["DESK_LOG_FORMAT"] = current.log_format or "json"
    uvicorn.run(
        "desk.app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        # Client address and scheme from X-Forwarded-For / -Proto, only from these proxies.
        proxy_headers=True,
        forwarded_allow_ips=args.forwarded_allow_ips or current.forwarded_allow_ips,
        server_header=False,
        timeout_graceful_shutdown=args.graceful_timeout,
        timeout_keep_alive=args.keep_alive,
        # desk.access writes one structured line per request instead (desk.web.requestlog).
        access_log=False,
        log_config=None,
        log_level=current.log_level.lower(),
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    # Imported when this command runs: `desk --help` and the other commands start fast.
    from desk.db import connected
    from desk.jobs import build_worker
    from desk.outbox.standby import turn_to_work
    from desk.runtime import Runtime

    async def run() -> None:
        current = settings()
        lower_priority(current.worker_nice)
        async with connected(current.database_url):
            worker = build_worker(Runtime.build(current))
            if args.once:
                ran = await worker.run_until_idle()
                print(f"{ran} tâches exécutées.")
                return
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, worker.stop)
            # On SQLite one worker works and any other stands by (desk/outbox/standby.py).
            async with turn_to_work(
                current.database_url, stopping=worker.stopping, interval=worker.poll_interval
            ) as may_work:
                if may_work:
                    await worker.run_forever()

    asyncio.run(run())
    return 0


def lower_priority(nice: int) -> None:
    """Lower this process's CPU priority to `nice` (never raise it: that needs privileges)."""
    current = os.nice(0)
    if nice > current:
        os.nice(nice - current)


def register(sub: Subparsers) -> None:
    p = sub.add_parser("serve", help="run the web app (uvicorn)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1, help="web processes (default 1)")
    p.add_argument(
        "--forwarded-allow-ips",
        help="proxies trusted for X-Forwarded-* (default: DESK_FORWARDED_ALLOW_IPS, 127.0.0.1)",
    )
    p.add_argument(
        "--graceful-timeout",
        type=float,
        default=20.0,
        help="seconds given to requests in flight on shutdown (default 20)",
    )
    p.add_argument(
        "--keep-alive",
        type=int,
        default=5,
        help="seconds an idle keep-alive connection stays open (default 5; keep it above the "
        "proxy's idle timeout to the desk, not below)",
    )
    p.set_defaults(func=cmd_serve)
    p = sub.add_parser("worker", help="run the outbox worker")
    p.add_argument("--once", action="store_true", help="run due jobs, then exit")
    p.set_defaults(func=cmd_worker)
