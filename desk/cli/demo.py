"""`desk demo` (web + worker + SMTP sink + demo data), `desk seed` (the demo signatories) and
`desk partner-sim` (the reference partner, which reads its own options)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import time
from dataclasses import replace

from desk.cli._common import Subparsers, settings
from desk.settings import Settings

# `desk demo` lets adapters reach this machine (the reference partner runs there) unless
# DESK_PARTNER_ALLOWED_NETWORKS says otherwise.
DEMO_PARTNER_NETWORKS = "127.0.0.0/8, ::1/128"


def cmd_seed(args: argparse.Namespace) -> int:
    # Imported when this command runs: `desk --help` and the other commands start fast.
    from desk.db import connected, migrate
    from desk.demo.seed import seed_demo

    async def run() -> int:
        current = settings()
        await migrate(current.database_url)
        async with connected(current.database_url):
            return await seed_demo()

    count = asyncio.run(run())
    print(f"{count} signataires de démonstration en place.")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    # Imported when this command runs: `desk --help` and the other commands start fast.
    import uvicorn

    # Imported when this command runs: `desk --help` and the other commands start fast.
    from desk.app import create_app
    from desk.db import connected, migrate
    from desk.demo.seed import DEMO_RESIDENT_EMAIL, seed_demo
    from desk.mail.sink import MailSink, SmtpSinkServer

    started = time.monotonic()
    # One line per request would bury the banner (the dashboard refreshes itself).
    logging.getLogger("desk.access").setLevel(logging.WARNING)
    base = Settings.from_env(demo=True)
    if "sqlite://desk.sqlite3" == base.database_url:
        base = replace(base, database_url="sqlite://desk-demo.sqlite3")
    if "DESK_PARTNER_ALLOWED_NETWORKS" not in os.environ:
        # The demo's partners (`desk partner-sim`) run on this machine: loopback only, said
        # explicitly; any other internal address stays refused.
        base = replace(base, partner_allowed_networks=DEMO_PARTNER_NETWORKS)
    sink = MailSink()
    smtp = SmtpSinkServer(sink, port=args.smtp_port)
    smtp.start()
    base_url = f"http://{args.host}:{args.port}"
    demo_settings = replace(base, smtp_host="127.0.0.1", smtp_port=smtp.port, base_url=base_url)

    async def prepare() -> int:
        await migrate(demo_settings.database_url)
        async with connected(demo_settings.database_url):
            return await seed_demo()

    try:
        count = asyncio.run(prepare())
        app = create_app(demo_settings, run_worker=True, mail_sink=sink)
        config = uvicorn.Config(
            app,
            host=args.host,
            port=args.port,
            log_level="warning",
            server_header=False,
            # Keep the scrubbing handlers set up in main(): uvicorn's default config would
            # give its loggers their own, and print tracebacks with whatever they carry.
            log_config=None,
        )
        server = uvicorn.Server(config)

        async def serve() -> None:
            task = asyncio.create_task(server.serve())
            # uvicorn exposes no start-up event, only this flag.
            while not server.started and not task.done():  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            if server.started:
                print(
                    f"\nLe guichet des données — démonstration ({count} signataires)\n"
                    f"  Ouvrez      {base_url}/\n"
                    f"  Connexion   {base_url}/connexion  avec par exemple {DEMO_RESIDENT_EMAIL}\n"
                    f"  Courriels   {base_url}/dev/mailbox  (le lien de connexion y arrive)\n"
                    f"  Base        {demo_settings.database_url}\n"
                    f"  SMTP        capturé sur 127.0.0.1:{smtp.port}\n"
                    f"  Prêt en {time.monotonic() - started:.1f} s. Ctrl-C pour arrêter.\n",
                    flush=True,
                )
            await task

        # uvicorn shuts down gracefully on Ctrl-C, then re-raises the signal it caught.
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve())
    finally:
        smtp.stop()
    print("Arrêté proprement.")
    return 0


def partner_sim(argv: list[str]) -> int:
    """`desk partner-sim …`: the reference partner reads its own options."""
    # Imported when this command runs: `desk --help` and the other commands start fast.
    from desk.demo.reference_partner import main as reference_main

    return reference_main(argv)


OWN_PARSER = {"partner-sim": partner_sim}


def register(sub: Subparsers) -> None:
    sub.add_parser("seed", help="load the demo signatories").set_defaults(func=cmd_seed)
    p = sub.add_parser("demo", help="web + worker + SMTP sink + demo data, on SQLite")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--smtp-port", type=int, default=0)
    p.set_defaults(func=cmd_demo)
    # Listed for --help; its own parser reads its options (OWN_PARSER above).
    sub.add_parser("partner-sim", help="the reference partner (webhook receiver, REST API)")
