"""The `desk` command: serve, worker, migrate, seed, demo, keys."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path

from desk.core.translatable import N_
from desk.settings import Settings
from desk.staff.models import StaffRole

# `desk demo` lets adapters reach this machine (the reference partner runs there) unless
# DESK_PARTNER_ALLOWED_NETWORKS says otherwise.
DEMO_PARTNER_NETWORKS = "127.0.0.0/8, ::1/128"


def _settings() -> Settings:
    return Settings.from_env()


def cmd_migrate(args: argparse.Namespace) -> int:
    # Imported when this command runs: `desk --help` and the other commands start fast.
    from desk.db import migrate

    settings = _settings()
    asyncio.run(migrate(settings.database_url))
    print("Base de données à jour / database up to date.")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    # Imported when this command runs: `desk --help` and the other commands start fast.
    from desk.db import connected, migrate
    from desk.demo.seed import seed_demo

    async def run() -> int:
        settings = _settings()
        await migrate(settings.database_url)
        async with connected(settings.database_url):
            return await seed_demo()

    count = asyncio.run(run())
    print(f"{count} signataires de démonstration en place.")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """uvicorn with production defaults. Each of its worker processes builds its own app from
    the environment (`desk.app:app_from_env`), so what is chosen here goes through it."""
    # Imported when this command runs: `desk --help` and the other commands start fast.
    import uvicorn

    # Also creates DESK_DATA_DIR/secret.key once, before worker processes would race for it.
    settings = _settings()
    os.environ["DESK_LOG_FORMAT"] = settings.log_format or "json"
    uvicorn.run(
        "desk.app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        # Client address and scheme from X-Forwarded-For / -Proto, only from these proxies.
        proxy_headers=True,
        forwarded_allow_ips=args.forwarded_allow_ips or settings.forwarded_allow_ips,
        server_header=False,
        timeout_graceful_shutdown=args.graceful_timeout,
        timeout_keep_alive=args.keep_alive,
        # desk.access writes one structured line per request instead (desk.web.requestlog).
        access_log=False,
        log_config=None,
        log_level=settings.log_level.lower(),
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:

    # Imported when this command runs: `desk --help` and the other commands start fast.
    from desk.db import connected
    from desk.jobs import build_worker
    from desk.outbox.standby import turn_to_work
    from desk.runtime import Runtime

    async def run() -> None:
        settings = _settings()
        async with connected(settings.database_url):
            worker = build_worker(Runtime.build(settings))
            if args.once:
                ran = await worker.run_until_idle()
                print(f"{ran} tâches exécutées.")
                return
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, worker.stop)
            # On SQLite one worker works and any other stands by (desk/outbox/standby.py).
            async with turn_to_work(
                settings.database_url, stopping=worker.stopping, interval=worker.poll_interval
            ) as may_work:
                if may_work:
                    await worker.run_forever()

    asyncio.run(run())
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
    settings = replace(base, smtp_host="127.0.0.1", smtp_port=smtp.port, base_url=base_url)

    async def prepare() -> int:
        await migrate(settings.database_url)
        async with connected(settings.database_url):
            return await seed_demo()

    try:
        count = asyncio.run(prepare())
        app = create_app(settings, run_worker=True, mail_sink=sink)
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
                    f"  Base        {settings.database_url}\n"
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


def cmd_outbox(args: argparse.Namespace) -> int:
    """The back office's view of the outbox: what is waiting, what is dead, and a retry."""
    # Imported when this command runs: `desk --help` and the other commands start fast.
    from desk.db import connected
    from desk.outbox import services

    async def run() -> int:
        async with connected(_settings().database_url):
            if args.retry is not None:
                if await services.retry_dead(job_id=args.retry):
                    print(f"Tâche {args.retry} relancée.")
                    return 0
                print(f"Aucune tâche morte n° {args.retry}.", file=sys.stderr)
                return 1
            print(f"En attente : {await services.pending_count()}")
            dead = await services.dead_jobs()
            print(f"Mortes (abandonnées après le dernier essai) : {len(dead)}")
            for job in dead:
                print(
                    f"  #{job.id} {job.kind} {job.payload} essais={job.attempts} — {job.last_error}"
                )
            return 0

    return asyncio.run(run())


def cmd_partners(args: argparse.Namespace) -> int:
    """Partner channel and API credentials: configure the adapter, create a client, rotate its
    secret, give the hashing key."""
    # Imported when this command runs: `desk --help` and the other commands start fast.
    from desk.db import connected
    from desk.partners import clients
    from desk.registry.models import Signatory

    async def run() -> int:
        settings = _settings()
        async with connected(settings.database_url):
            if args.action == "configure":
                return await _configure_channel(args, settings)
            if args.action == "create-client":
                try:
                    cred = await clients.create_client(slug=args.target, label=args.label or "")
                except clients.UnknownSignatory:
                    print(f"Aucun signataire « {args.target} ».", file=sys.stderr)
                    return 1
            elif args.action == "revoke-secret":
                return await _revoke_secret(args)
            elif args.action == "rotate-secret":
                try:
                    cred = await clients.rotate_secret(client_id=args.target)
                except LookupError:
                    print(f"Aucun client actif « {args.target} ».", file=sys.stderr)
                    return 1
            else:
                signatory = await Signatory.get_or_none(slug=args.target)
                if signatory is None:
                    print(f"Aucun signataire « {args.target} ».", file=sys.stderr)
                    return 1
                key = await clients.hashing_key(signatory=signatory, secret_key=settings.secret_key)
                print(f"Clé de hachage de {signatory.slug} (HMAC-SHA256) : {key}")
                return 0
            print(f"Signataire    {cred.signatory_slug}")
            print(f"client_id     {cred.client_id}")
            print(f"client_secret {cred.client_secret}")
            print("Ce secret ne sera plus affiché : transmettez-le au signataire par un canal sûr.")
            return 0

    return asyncio.run(run())


async def _revoke_secret(args: argparse.Namespace) -> int:
    """`desk partners revoke-secret CLIENT_ID --prefix P`: its tokens stop working at once."""
    # Imported when this command runs: `desk --help` and the other commands start fast.
    from desk.partners import clients

    if not args.prefix:
        print("Indiquez le début du secret à révoquer : --prefix (8 caractères).", file=sys.stderr)
        return 1
    if not await clients.revoke_secret(client_id=args.target, prefix=args.prefix):
        print(
            f"Aucun secret actif commençant par « {args.prefix} » pour « {args.target} ».",
            file=sys.stderr,
        )
        return 1
    print(f"Secret {args.prefix}… de {args.target} révoqué : ses jetons ne sont plus acceptés.")
    return 0


async def _configure_channel(args: argparse.Namespace, settings: Settings) -> int:
    """`desk partners configure SLUG --adapter NAME --set key=value [--rotate]`."""
    # Imported when this command runs: `desk --help` and the other commands start fast.
    from desk.partners import channels

    try:
        if not args.adapter:
            raise channels.ChannelError(N_("Indiquez le connecteur : --adapter webhook, rest, …"))
        result = await channels.configure_channel(
            slug=args.target,
            adapter=args.adapter,
            settings=channels.parse_assignments(args.set or []),
            secret_key=settings.secret_key,
            rotate=args.rotate,
            allowed_networks=settings.partner_networks,
        )
    except channels.ChannelError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    print(f"Signataire    {result.slug}")
    print(f"Connecteur    {result.adapter}")
    for key, value in sorted(result.settings.items()):
        print(f"  {key} = {value}")
    for secret in result.generated:
        print(f"Nouveau secret de signature : {secret}")
    if result.generated:
        print("Ce secret ne sera plus affiché : transmettez-le au signataire par un canal sûr.")
    if args.rotate and len(result.secrets.get("secrets", [])) > 1:
        print("L'ancien secret reste valable jusqu'au prochain changement de secret.")
    return 0


def cmd_staff(args: argparse.Namespace) -> int:
    """Staff accounts: add (or reactivate) and deactivate."""
    # Imported when this command runs: `desk --help` and the other commands start fast.
    from desk.core.errors import DeskError
    from desk.db import connected
    from desk.staff import services
    from desk.staff.models import StaffRole

    async def run() -> int:
        async with connected(_settings().database_url):
            if args.action == "add":
                try:
                    member = await services.add_staff(
                        email=args.email,
                        display_name=args.name or args.email,
                        role=StaffRole(args.role),
                        help_point=args.help_point or "",
                    )
                except DeskError as exc:
                    print(exc.message, file=sys.stderr)
                    return 1
                print(f"Compte {member.id} actif : rôle {member.role.value}.")
                return 0
            if await services.deactivate_staff(email=args.email):
                print("Compte désactivé.")
                return 0
            print("Aucun compte actif à cette adresse.", file=sys.stderr)
            return 1

    return asyncio.run(run())


def cmd_keys(args: argparse.Namespace) -> int:

    # Imported when this command runs: `desk --help` and the other commands start fast.
    from desk.receipts.keys import Keyring

    if getattr(args, "action", "jwks") == "reencrypt":
        return _reencrypt_secrets()
    keyring = Keyring.load_or_create(_settings().data_dir)
    print(json.dumps(keyring.jwks(), indent=2))
    return 0


def _reencrypt_secrets() -> int:
    """`desk keys reencrypt`: after DESK_SECRET_KEY changed, with the old one in
    DESK_PREVIOUS_SECRET_KEY (an environment variable: a command line is visible to `ps`)."""
    # Imported when this command runs: `desk --help` and the other commands start fast.
    from desk.db import connected
    from desk.retention import rekey

    settings = _settings()
    previous = os.environ.get("DESK_PREVIOUS_SECRET_KEY", "")
    if not previous or previous == settings.secret_key:
        print(
            "Mettez la nouvelle clé dans DESK_SECRET_KEY et l'ancienne dans "
            "DESK_PREVIOUS_SECRET_KEY, puis relancez.",
            file=sys.stderr,
        )
        return 1

    async def run() -> int:
        async with connected(settings.database_url):
            try:
                report = await rekey.reencrypt_secrets(
                    old_key=previous, new_key=settings.secret_key
                )
            except rekey.UnreadableSecret as exc:
                print(
                    f"Aucune des deux clés ne déchiffre le secret de {exc.where} : rien n'a "
                    "été modifié.",
                    file=sys.stderr,
                )
                return 1
        print(
            f"Secrets chiffrés à nouveau : {report.hashing_keys} clé(s) de hachage, "
            f"{report.channel_settings} canal(aux), {report.outbox_jobs} envoi(s) en attente "
            f"({report.already_new} déjà sous la nouvelle clé)."
        )
        return 0

    return asyncio.run(run())


def cmd_report(args: argparse.Namespace) -> int:
    # Imported when this command runs: `desk --help` and the other commands start fast.
    from desk.statistics.report import write_report_file

    return asyncio.run(write_report_file(settings=_settings(), year=args.year, output=args.output))


def cmd_audit(args: argparse.Namespace) -> int:

    # Imported when this command runs: `desk --help` and the other commands start fast.
    from desk.audit.checkpoint import run_checkpoint, run_log_audit
    from desk.receipts.audit import run_audit

    settings = _settings()
    if args.action == "checkpoint":
        out = Path(args.out) if args.out else None
        return asyncio.run(run_checkpoint(settings=settings, out=out))
    receipts = asyncio.run(run_audit(settings=settings))
    checkpoint = Path(args.checkpoint) if args.checkpoint else None
    actions = asyncio.run(run_log_audit(settings=settings, checkpoint_path=checkpoint))
    return max(receipts, actions)


def cmd_retention(args: argparse.Namespace) -> int:
    # Imported when this command runs: `desk --help` and the other commands start fast.
    from desk.retention.jobs import run_retention_command

    return asyncio.run(run_retention_command(settings=_settings(), dry_run=args.dry_run))


def build_parser() -> argparse.ArgumentParser:
    """Every subcommand and its options (tests check compose.yaml and the Dockerfile with it)."""
    parser = argparse.ArgumentParser(prog="desk", description="Le guichet des données")
    sub = parser.add_subparsers(dest="command", required=True)
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
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    sub.add_parser("seed", help="load the demo signatories").set_defaults(func=cmd_seed)
    p = sub.add_parser("demo", help="web + worker + SMTP sink + demo data, on SQLite")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--smtp-port", type=int, default=0)
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("outbox", help="list waiting and dead outbox jobs; retry a dead one")
    p.add_argument("--retry", type=int, metavar="JOB_ID", help="give a dead job new attempts")
    p.set_defaults(func=cmd_outbox)
    p = sub.add_parser("partners", help="partner API credentials and hashing keys")
    p.add_argument(
        "action",
        choices=["configure", "create-client", "rotate-secret", "revoke-secret", "hashing-key"],
    )
    p.add_argument(
        "target", help="signatory slug (configure, create-client, hashing-key) or client_id"
    )
    p.add_argument("--label", help="what this client is for (create-client)")
    p.add_argument(
        "--prefix", help="the first 8 characters of the secret to revoke (revoke-secret)"
    )
    p.add_argument("--adapter", help="channel: email, webhook, rest, postal, … (configure)")
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="an adapter setting, repeatable; JSON for lists (configure)",
    )
    p.add_argument(
        "--rotate", action="store_true", help="new webhook secret, the previous kept (configure)"
    )
    p.set_defaults(func=cmd_partners)
    p = sub.add_parser("staff", help="staff accounts (back office, mediators, committee, admins)")
    p.add_argument("action", choices=["add", "deactivate"])
    p.add_argument("email")
    p.add_argument("--name", help="display name")
    p.add_argument("--role", default="back_office", choices=[r.value for r in StaffRole])
    p.add_argument("--help-point", help="digital-help point of a mediator")
    p.set_defaults(func=cmd_staff)
    # Listed for --help; its own parser reads its options (see below).
    sub.add_parser("partner-sim", help="the reference partner (webhook receiver, REST API)")
    p = sub.add_parser(
        "keys", help="print the receipt public keys (JWKS); reencrypt after a new DESK_SECRET_KEY"
    )
    p.add_argument("action", nargs="?", default="jwks", choices=["jwks", "reencrypt"])
    p.set_defaults(func=cmd_keys)
    p = sub.add_parser("report", help="write the charter's annual report as one HTML file")
    p.add_argument("--year", required=True, help="the year, e.g. 2025")
    p.add_argument("--output", help="file to write (default: bilan-<year>.html)")
    p.set_defaults(func=cmd_report)
    p = sub.add_parser(
        "audit", help="verify the receipts chain, the delivery trails and the audit log; or sign"
    )
    p.add_argument("action", choices=["verify", "checkpoint"])
    p.add_argument("--checkpoint", metavar="FILE", help="an audit-log checkpoint to check (verify)")
    p.add_argument("--out", metavar="FILE", help="write the signed checkpoint here (checkpoint)")
    p.set_defaults(func=cmd_audit)
    p = sub.add_parser("retention", help="apply the retention rules (desk.retention.rules)")
    p.add_argument("action", choices=["run"])
    p.add_argument("--dry-run", action="store_true", help="count what would change, change nothing")
    p.set_defaults(func=cmd_retention)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    _configure_logging(argv[:1])
    if argv[:1] == ["partner-sim"]:
        # Imported when this command runs: `desk --help` and the other commands start fast.
        from desk.demo.reference_partner import main as reference_main

        return reference_main(argv[1:])
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


def _configure_logging(command: list[str]) -> None:
    """JSON lines for the long-running services an operator collects logs from; text for
    the demo and one-off commands, read by a person. DESK_LOG_FORMAT overrides."""
    # Imported when this command runs: `desk --help` and the other commands start fast.
    from desk.logs import configure_logging

    default = "json" if command in (["serve"], ["worker"]) else "text"
    configure_logging(
        os.environ.get("DESK_LOG_FORMAT") or default, os.environ.get("DESK_LOG_LEVEL") or "INFO"
    )


if __name__ == "__main__":
    sys.exit(main())
