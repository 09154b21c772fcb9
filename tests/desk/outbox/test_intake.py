"""While residents file, a worker holds back its claims (desk.outbox.intake): one batch per
`intake_yield` seconds at most, everything once the filings stop; a filing through the web app
is what tells it, on both databases."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
from starlette.applications import Starlette
from tortoise.transactions import in_transaction

from desk.mail.sink import MailSink
from desk.outbox import intake, services
from desk.outbox.models import JobState, OutboxJob
from desk.outbox.wakeup import listen_dsn
from desk.outbox.worker import JobRegistry, Worker
from desk.settings import Settings
from tests.desk.residents.helpers import log_in, post_form
from tests.factories import make_signatory

GUARD = 30
BATCH = 8
YIELD = 0.4
FILING_FOR = 1.2  # seconds residents keep filing while the worker has jobs due


@contextlib.asynccontextmanager
async def residents_filing(database_url: str) -> AsyncIterator[None]:
    """A filing's signal every 10 ms for the block: the pulse file (SQLite), the notification
    (PostgreSQL), as desk.requests.filing and desk.requests.filing_pg give them."""
    stop = asyncio.Event()
    dsn = listen_dsn(database_url)
    conn = await asyncpg.connect(dsn) if dsn else None
    path = database_url.removeprefix("sqlite://")

    async def signal() -> None:
        while not stop.is_set():
            if conn is not None:
                await conn.execute(
                    f"SELECT pg_notify('{services.WAKE_CHANNEL}', '{intake.INTAKE}')"
                )
            else:
                intake.filed(path)
            await asyncio.sleep(0.01)

    task = asyncio.create_task(signal())
    try:
        yield
    finally:
        stop.set()
        await task
        if conn is not None:
            await conn.close()


async def test_a_worker_holds_back_while_residents_file_then_takes_everything(
    app: Starlette, settings: Settings
) -> None:
    async with in_transaction() as conn:
        await services.enqueue_new(
            kind="count", jobs=[(f"count-{n}", {}) for n in range(400)], connection=conn
        )
    ran: list[float] = []

    async def count(job: OutboxJob, ctx: object) -> None:
        ran.append(time.monotonic())

    worker = Worker(
        registry=JobRegistry(handlers={"count": count}),
        context=None, base_delay=0, max_delay=0, poll_interval=0.05,
        concurrency=BATCH, claim_batch=BATCH, intake_yield=YIELD,
        database_url=settings.database_url,
    )  # fmt: skip
    async with residents_filing(settings.database_url):
        task = asyncio.create_task(worker.run_forever())
        started = time.monotonic()
        await asyncio.sleep(FILING_FOR)
        ended = time.monotonic()
    try:
        while await OutboxJob.filter(state=JobState.DONE).count() < 400:
            assert time.monotonic() < ended + GUARD, "the worker did not catch up"
            await asyncio.sleep(0.05)
    finally:
        worker.stop()
        await asyncio.wait_for(task, timeout=GUARD)

    meanwhile = sum(1 for moment in ran if moment < ended)
    # One batch at once, then one per YIELD seconds at most while the filings went on; twice
    # that for a signal late on a busy machine. Alone, the worker runs all 400 meanwhile.
    most = 2 * BATCH * (1 + math.ceil((ended - started) / YIELD))
    assert BATCH <= meanwhile <= most, (meanwhile, most)
    assert len(ran) == 400


async def test_a_filing_through_the_web_app_tells_the_workers_and_a_login_does_not(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink, settings: Settings
) -> None:
    await make_signatory("eau-du-ponant", name="Eau du Ponant")
    payloads: list[str] = []
    dsn = listen_dsn(settings.database_url)
    listener = await asyncpg.connect(dsn) if dsn else None
    if listener is not None:
        await listener.add_listener(
            services.WAKE_CHANNEL, lambda *args: payloads.append(str(args[-1]))
        )
    pulse = intake.pulse_file(settings.database_url)
    try:
        await log_in(client, worker, mail_sink, "camille@exemple.fr")  # its mail is a job
        before = time.time()
        if pulse is not None:
            assert not pulse.exists()
        filed = await post_form(
            client, "/mon-espace/demandes", {"kind": "erasure", "signatory": "eau-du-ponant"}
        )
        assert filed.status_code == 303
        if listener is not None:
            for _ in range(GUARD * 20):
                if intake.INTAKE in payloads:
                    break
                await asyncio.sleep(0.05)
            # The login mail's job woke the workers first, without the filings' payload.
            assert payloads[0] == "" and payloads.count(intake.INTAKE) == 1, payloads
        else:
            assert pulse is not None and pulse.stat().st_mtime >= before - 1
    finally:
        if listener is not None:
            await listener.close()


def test_the_pulse_file_sits_beside_an_sqlite_database_only(tmp_path: Path) -> None:
    pulse = tmp_path / "desk.sqlite3-intake"
    assert intake.pulse_file(f"sqlite://{tmp_path}/desk.sqlite3") == pulse
    assert intake.pulse_file("sqlite://:memory:") is None
    assert intake.pulse_file("postgres://desk@db:5432/desk") is None
    # A directory the desk cannot write to: no signal, and no error for the filing.
    intake.filed(str(tmp_path / "missing" / "desk.sqlite3"))
    watch = intake.IntakeWatch(f"sqlite://{tmp_path}/missing/desk.sqlite3")
    assert not watch.filing_now()
    intake.filed(str(tmp_path / "desk.sqlite3"))
    assert pulse.exists()
    os.utime(pulse, (time.time() - 60, time.time() - 60))  # filed a minute ago
    assert not intake.IntakeWatch(f"sqlite://{tmp_path}/desk.sqlite3").filing_now()
    intake.filed(str(tmp_path / "desk.sqlite3"))
    assert pulse.stat().st_mtime > time.time() - 30
