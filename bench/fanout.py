"""Fan-out through ONE worker: webhook deliveries/s to the reference partner, and emails/s to a
local aiosmtpd compared with raw aiosmtplib over the same number of connections.

Run: .venv/bin/python bench/fanout.py [--deliveries 4000] [--mails 1000] [--postgres URL]

Processes, all on loopback: `desk partner-sim` (the reference partner, not answering, so only
the desk's side is measured), an aiosmtpd sink (`python -m aiosmtpd`, its own process),
one `desk worker`. The queue is filled before the worker starts (discovery requests to 40
webhook signatories, then login links to distinct addresses), then the worker drains it: the rate
is taken between 10% and 90% of the queue, read from the database.

Emails, yardstick: the same number of messages sent by raw aiosmtplib in as many concurrent
loops as the worker runs jobs at once, each loop over one connection kept open, as the worker
keeps its SMTP connections open (before 2026-12-06 both opened one connection per message).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiosmtplib  # noqa: E402
import asyncpg  # noqa: E402

from bench import desk_setup  # noqa: E402
from bench.harness import (  # noqa: E402
    PYTHON,
    analyze,
    bare_baseline,
    cpu_seconds,
    desk_command,
    desk_env,
    free_port,
    machine_facts,
    print_facts,
    process,
    profiled,
    ratio,
    sqlite_url,
    wait_port,
)
from desk.db import connected  # noqa: E402
from desk.identity.login import request_login  # noqa: E402
from desk.outbox.models import JobState, OutboxJob  # noqa: E402
from desk.partners.channels import configure_channel  # noqa: E402
from desk.partners.webhooks import new_secret  # noqa: E402
from desk.registry.models import Signatory  # noqa: E402
from desk.requests.models import RequestKind  # noqa: E402
from desk.requests.services import file_request  # noqa: E402
from desk.residents.models import Resident  # noqa: E402
from desk.residents.services import AUDIENCE as RESIDENTS  # noqa: E402
from desk.settings import Settings  # noqa: E402

# The partner listens on 127.0.0.1 (the desk processes get DESK_PARTNER_ALLOWED_NETWORKS).
LOCAL_NETWORKS = Settings(
    partner_allowed_networks=desk_setup.LOCAL_PARTNER_NETWORKS
).partner_networks


async def fill_deliveries(database_url: str, *, partner_url: str, secret: str, total: int) -> int:
    """Webhook channel for every signatory, then discovery requests until `total` deliveries."""
    async with connected(database_url):
        key = desk_setup.settings_from({"DESK_SECRET_KEY": "bench-secret-" + "x" * 40}).secret_key
        for slug in await Signatory.all().values_list("slug", flat=True):
            await configure_channel(
                slug=str(slug),
                adapter="webhook",
                settings={"url": partner_url + "/webhooks/desk", "secrets": [secret]},
                secret_key=key,
                allowed_networks=LOCAL_NETWORKS,
            )
        per_request = await Signatory.all().count()
        made = 0
        n = 0
        while made < total:
            n += 1
            resident = await Resident.create(
                email=f"fan-{n}@exemple.invalid", pseudonym=f"fan{n:06d}"
            )
            await file_request(resident_id=resident.id, kind=RequestKind.DISCOVERY)
            made += per_request
        return made


async def fill_mails(database_url: str, *, total: int) -> None:
    async with connected(database_url):
        # The worker decrypts each link's token with this key (desk.identity.login_links).
        key = desk_setup.settings_from({"DESK_SECRET_KEY": "bench-secret-" + "x" * 40}).secret_key
        for n in range(total):
            await request_login(
                audience=RESIDENTS,
                email=f"courriel-{n}@exemple.invalid",
                browser=f"bench-{n}",
                secret_key=key,
            )


async def done_count(database_url: str, kind: str) -> int:
    async with connected(database_url):
        return await OutboxJob.filter(kind=kind, state=JobState.DONE).count()


def backends_cpu(database_url: str) -> float:
    """CPU seconds used so far by the PostgreSQL backends serving `database_url` (the worker's
    pooled connections), other than the one asking; 0 on SQLite."""
    if not database_url.startswith(("postgres://", "postgresql://")):
        return 0.0

    async def pids() -> list[int]:
        conn = await asyncpg.connect("postgresql://" + database_url.split("://", 1)[1])
        try:
            rows = await conn.fetch(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        finally:
            await conn.close()
        return [int(row["pid"]) for row in rows]

    total = 0.0
    for pid in asyncio.run(pids()):
        with contextlib.suppress(OSError):  # a backend gone meanwhile
            total += cpu_seconds(pid)
    return total


def drain_rate(
    database_url: str,
    kind: str,
    total: int,
    *,
    pid: int,
    timeout: float = 900,
    beside: Mapping[str, Callable[[], float]] | None = None,
) -> tuple[float, int, float, dict[str, float]]:
    """Jobs/s between 10% and 90% of `total` done (polls the database), how many got done, the
    worker's CPU milliseconds per job over the same stretch, and those of each of `beside` (the
    partner-sim, the database: what else each job costs the machine)."""
    beside = beside or {}
    marks: dict[int, float] = {}
    cpu: dict[int, float] = {}
    other: dict[int, dict[str, float]] = {}
    low, high = total // 10, total * 9 // 10
    deadline = time.monotonic() + timeout
    done = 0
    while time.monotonic() < deadline:
        done = asyncio.run(done_count(database_url, kind))
        now = time.monotonic()
        if done >= low and low not in marks:
            marks[low], cpu[low] = now, cpu_seconds(pid)
            other[low] = {name: used() for name, used in beside.items()}
        if done >= high:
            marks[high], cpu[high] = now, cpu_seconds(pid)
            other[high] = {name: used() for name, used in beside.items()}
            break
        time.sleep(0.25)
    if high not in marks or low not in marks or marks[high] == marks[low]:
        return 0.0, done, 0.0, {}
    per_job_ms = 1000 * (cpu[high] - cpu[low]) / (high - low)
    beside_ms = {
        name: 1000 * (other[high][name] - other[low][name]) / (high - low) for name in beside
    }
    return (high - low) / (marks[high] - marks[low]), done, per_job_ms, beside_ms


def raw_smtp_rate(port: int, total: int, connections: int) -> float:
    """Messages/s from `connections` loops of raw aiosmtplib, each over one connection kept
    open, as the worker's mailer keeps its connections."""

    async def sender(numbers: range) -> None:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=20) as smtp:
            for n in numbers:
                message = EmailMessage()
                message["From"] = "Le guichet des données <guichet@example.invalid>"
                message["To"] = f"brut-{n}@exemple.invalid"
                message["Subject"] = "Votre lien de connexion au guichet des données"
                message.set_content(
                    "Bonjour,\n\nVoici votre lien : http://127.0.0.1/connexion/x\n" * 8
                )
                await smtp.send_message(message)

    async def run() -> float:
        started = time.monotonic()
        await asyncio.gather(*(sender(range(k, total, connections)) for k in range(connections)))
        return total / (time.monotonic() - started)

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=4000)
    parser.add_argument("--mails", type=int, default=1000)
    parser.add_argument("--signatories", type=int, default=40)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=Settings.worker_concurrency,
        help=f"DESK_WORKER_CONCURRENCY of the worker (default: the desk's, "
        f"{Settings.worker_concurrency})",
    )
    parser.add_argument(
        "--claim-batch",
        type=int,
        default=0,
        help="DESK_WORKER_CLAIM_BATCH of the worker (default: the desk's own)",
    )
    parser.add_argument("--postgres", help="an EMPTY PostgreSQL database URL (default: SQLite)")
    parser.add_argument(
        "--no-bare", action="store_true", help="skip the bare-app yardstick (quicker reruns)"
    )
    parser.add_argument("--profile", help="write py-spy's collapsed stacks of the worker here")
    parser.add_argument(
        "--profile-partner", help="the same of the partner-sim, while it receives the webhooks"
    )
    parser.add_argument(
        "--profile-mails", help="the same, while the worker sends the mails (its own file)"
    )
    args = parser.parse_args()
    print_facts(machine_facts())
    with tempfile.TemporaryDirectory(prefix="desk-bench-") as tmp:
        work = Path(tmp)
        smtp_port, partner_port = free_port(), free_port()
        partner = f"http://127.0.0.1:{partner_port}"
        database_url = args.postgres or sqlite_url(work)
        env = desk_setup.settings_env(
            database_url=database_url,
            data_dir=work / "data",
            smtp_port=smtp_port,
            base_url="http://127.0.0.1:9",
            DESK_WORKER_CONCURRENCY=str(args.concurrency),
            # The worker is what is measured; the partner simulator and the SMTP sink stand
            # for other machines, so the worker keeps the same priority as they have.
            DESK_WORKER_NICE="0",
        )
        if args.claim_batch:
            env["DESK_WORKER_CLAIM_BATCH"] = str(args.claim_batch)
        desk_setup.migrate(env)
        asyncio.run(desk_setup.seed_only(database_url, signatories=args.signatories))
        secret = new_secret()
        deliveries = asyncio.run(
            fill_deliveries(database_url, partner_url=partner, secret=secret, total=args.deliveries)
        )
        # Both queues before the worker starts (the mails due after the deliveries): filled
        # while the worker ran, the mails' rate was the filling's (one login request at a time).
        asyncio.run(fill_mails(database_url, total=args.mails))
        if args.postgres:
            asyncio.run(analyze(database_url))
        sink_cmd = [PYTHON, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink"]
        with (
            process(sink_cmd + ["-l", f"127.0.0.1:{smtp_port}"], log=work / "smtp.log"),
            process(
                desk_command(
                    "partner-sim",
                    "--port",
                    str(partner_port),
                    "--webhook-secret",
                    secret,
                    "--no-auto-answer",
                    # A log line per webhook was a sixth of the partner's CPU: the partner
                    # stands for a partner's server, whose logging is its own affair.
                    "--no-access-log",
                ),
                env=desk_env(env),
                log=work / "partner.log",
            ) as partner_sim,
        ):
            wait_port(smtp_port)
            wait_port(partner_port)
            with process(
                desk_command("worker"), env=desk_env(env), log=work / "worker.log"
            ) as worker:
                with (
                    profiled(worker.pid, args.profile, seconds=20),
                    profiled(partner_sim.pid, args.profile_partner, seconds=20),
                ):
                    webhook_rate, sent, webhook_cpu, beside_cpu = drain_rate(
                        database_url,
                        "delivery.dispatch",
                        deliveries,
                        pid=worker.pid,
                        beside={
                            "partner-sim": lambda: cpu_seconds(partner_sim.pid),
                            **(
                                {"database": lambda: backends_cpu(database_url)}
                                if args.postgres
                                else {}
                            ),
                        },
                    )
                with profiled(worker.pid, args.profile_mails, seconds=10):
                    mail_rate, mailed, mail_cpu, _ = drain_rate(
                        database_url, "mail.login", args.mails, pid=worker.pid
                    )
            raw_rate = raw_smtp_rate(smtp_port, args.mails, args.concurrency)
        # The yardstick needs wrk; without it the figures that matter (CPU ms per job) remain.
        bare = bare_baseline(work) if shutil.which("wrk") and not args.no_bare else None
    db = "PostgreSQL" if args.postgres else "SQLite"
    bare_rps = bare.rps if bare is not None else 0.0
    if bare is not None:
        print(bare.line("bare Starlette plaintext, 64 connections"))
    else:
        print("bare Starlette plaintext: wrk not installed, not measured")
    print(
        f"webhook fan-out ({db}, one worker, {args.concurrency} jobs at once): "
        f"{webhook_rate:,.0f} deliveries/s "
        f"({sent}/{deliveries} dispatched; target >= 2,000/s), "
        f"{ratio(webhook_rate, bare_rps)} of bare req/s; worker CPU {webhook_cpu:.2f} ms/delivery"
        + "".join(f", {name} CPU {ms:.2f} ms/delivery" for name, ms in beside_cpu.items())
        + f"; load average {os.getloadavg()[0]:.2f}"
    )
    print(
        f"emails ({db}, one worker): {mail_rate:,.0f} mails/s ({mailed}/{args.mails} sent); "
        f"raw aiosmtplib, {args.concurrency} connection(s) at a time: {raw_rate:,.0f} mails/s; "
        f"worker = {ratio(mail_rate, raw_rate)} of raw (target >= 90%); "
        f"worker CPU {mail_cpu:.2f} ms/mail"
    )


if __name__ == "__main__":
    main()
