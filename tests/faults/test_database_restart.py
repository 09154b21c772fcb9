"""PostgreSQL goes away under load and comes back: people get a 503 page (never a 500), the
app serves again by itself, and no filing is left half-written or filed twice.

A real TCP proxy sits between the desk and PostgreSQL; the test pulls its plug (every open
connection reset, new ones refused) while residents view pages and file requests, then plugs
it back in. The app is never restarted.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette
from tortoise.backends.base.executor import EXECUTOR_CACHE

from desk.app import create_app
from desk.jobs import build_worker
from desk.mail.sink import MailSink, SmtpSinkServer
from desk.settings import Settings
from tests.desk.residents.helpers import log_in
from tests.factories import make_signatory
from tests.faults.tcp_proxy import TcpProxy
from tests.helpers import LOCAL_PARTNER_NETWORKS

PG_URL = os.environ.get("DESK_TEST_DATABASE_URL", "")
pytestmark = pytest.mark.skipif(not PG_URL, reason="DESK_TEST_DATABASE_URL not set")

EMAIL = "restart.test@exemple.invalid"
SLUGS = ["eau-du-ponant", "bibus", "brest-habitat"]
PAGES = ["/mon-espace", "/signataires"]


def _via_port(url: str, port: int) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"{parts.hostname}:{port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) > 1 else host))


@dataclass
class Traffic:
    phase: str = "before"
    seen: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    keys: dict[str, int] = field(default_factory=dict)  # submission key -> last status
    outage_answers: list[httpx.Response] = field(default_factory=list)

    def record(self, what: str, response: httpx.Response) -> None:
        self.seen[(self.phase, what, response.status_code)] += 1
        if response.status_code == 503 and len(self.outage_answers) < 5:
            self.outage_answers.append(response)

    def count(self, phase: str, what: str, status: int) -> int:
        return self.seen[(phase, what, status)]


@pytest.fixture
async def proxied_app(
    postgres_migrated: str, tmp_path: Path, smtp_server: SmtpSinkServer, mail_sink: MailSink
) -> AsyncIterator[tuple[Starlette, TcpProxy]]:
    direct = await asyncpg.connect(PG_URL.replace("postgres://", "postgresql://", 1))
    await direct.execute(
        "TRUNCATE rights_request, delivery, delivery_event, outbox_job, login_challenge, "
        "resident, declaration, signatory RESTART IDENTITY CASCADE"
    )
    await direct.close()
    parts = urlsplit(PG_URL)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    await proxy.start()
    settings = Settings(
        database_url=_via_port(PG_URL, proxy.port),
        secret_key="test-secret-key-not-for-production",
        base_url="http://testserver",
        data_dir=tmp_path / "data",
        smtp_port=smtp_server.port,
        demo=True,
        outbox_base_delay=0.01,
        outbox_max_delay=0.05,
        partner_allowed_networks=LOCAL_PARTNER_NETWORKS,
    )
    EXECUTOR_CACHE.clear()
    app = create_app(settings, mail_sink=mail_sink)
    async with LifespanManager(app):
        yield app, proxy
    await proxy.close()


async def _until(condition: object, what: str, limit: float = 30.0) -> None:
    """Wait for what the load tasks record (a counter, not an event to wait on)."""
    assert callable(condition)
    async with asyncio.timeout(limit):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    assert condition(), what


async def _view(client: httpx.AsyncClient, traffic: Traffic, stop: asyncio.Event) -> None:
    n = 0
    while not stop.is_set():
        path = PAGES[n % len(PAGES)]
        n += 1
        try:
            traffic.record("page", await client.get(path))
        except Exception as exc:  # a 500 re-raised by the app ends up here
            traffic.failures.append(f"GET {path}: {exc!r}")
        await asyncio.sleep(0.01)


async def _file(client: httpx.AsyncClient, traffic: Traffic, key: str) -> int:
    try:
        response = await client.post(
            "/mon-espace/demandes",
            data={
                "csrftoken": client.cookies["csrftoken"],
                "kind": "access",
                "signatory": SLUGS,
                "submission_key": key,
            },
        )
    except Exception as exc:
        traffic.failures.append(f"POST filing: {exc!r}")
        return 0
    traffic.record("filing", response)
    traffic.keys[key] = response.status_code
    return response.status_code


async def _keep_filing(client: httpx.AsyncClient, traffic: Traffic, stop: asyncio.Event) -> None:
    while not stop.is_set():
        await _file(client, traffic, secrets.token_urlsafe(16))
        await asyncio.sleep(0.01)


async def test_database_restart_gives_503_then_recovers_with_nothing_half_written(
    proxied_app: tuple[Starlette, TcpProxy], mail_sink: MailSink
) -> None:
    app, proxy = proxied_app
    for slug in SLUGS:
        await make_signatory(slug)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        await log_in(client, build_worker(app.state.runtime), mail_sink, EMAIL)
        traffic = Traffic()
        stop = asyncio.Event()
        load = [
            asyncio.create_task(_view(client, traffic, stop)),
            asyncio.create_task(_view(client, traffic, stop)),
            asyncio.create_task(_keep_filing(client, traffic, stop)),
            asyncio.create_task(_keep_filing(client, traffic, stop)),
        ]
        await _until(
            lambda: traffic.count("before", "filing", 303) >= 2, "filings go through at first"
        )

        await proxy.cut()
        traffic.phase = "outage"
        await _until(
            lambda: (
                traffic.count("outage", "page", 503) >= 3
                and traffic.count("outage", "filing", 503) >= 3
            ),
            "pages and filings answered 503 while the database is away",
        )
        health = await client.get("/healthz")
        ready = await client.get("/readyz")
        api = await client.get("/donnees-ouvertes/signataires.json")
        english = await client.get("/mon-espace", headers={"Accept-Language": "en"})

        await proxy.restore()
        traffic.phase = "after"
        await _until(
            lambda: (
                traffic.count("after", "page", 200) >= 3
                and traffic.count("after", "filing", 303) >= 3
            ),
            "the app serves again without a restart",
        )
        stop.set()
        await asyncio.gather(*load)

        # Whatever the cut interrupted, the resident sends it again (same submission key).
        for key, status in list(traffic.keys.items()):
            if status != 303:
                assert await _file(client, traffic, key) == 303

    assert not traffic.failures, traffic.failures[:5]
    statuses = {status for (_, _, status) in traffic.seen}
    assert statuses <= {200, 303, 503}, traffic.seen
    # What people saw during the outage: a French page that says to come back, with a delay.
    for answer in traffic.outage_answers:
        assert answer.headers["retry-after"].isdigit()
        if answer.headers["content-type"].startswith("text/html"):
            assert "momentanément indisponible" in answer.text
    assert any(a.headers["content-type"].startswith("text/html") for a in traffic.outage_answers)
    assert english.status_code == 503 and "temporarily unavailable" in english.text
    assert api.status_code == 503
    assert api.headers["content-type"].startswith("application/problem+json")
    assert api.json()["status"] == 503
    assert health.status_code == 200
    assert ready.status_code == 503 and ready.json()["database"] == "unreachable"
    assert proxy.connections > 1  # the pool did reconnect through the proxy

    await _assert_nothing_half_written(set(traffic.keys))


async def _assert_nothing_half_written(keys: set[str]) -> None:
    direct = await asyncpg.connect(PG_URL.replace("postgres://", "postgresql://", 1))
    try:
        per_key = await direct.fetch(
            "SELECT submission_key, count(*) AS n FROM rights_request GROUP BY submission_key"
        )
        assert {r["submission_key"] for r in per_key} == keys  # every filing there once retried
        assert all(r["n"] == 1 for r in per_key)  # and filed once
        incomplete = await direct.fetch(
            """
            SELECT r.id,
                   (SELECT count(*) FROM delivery d WHERE d.request_id = r.id) AS deliveries,
                   (SELECT count(*) FROM delivery d JOIN delivery_event e ON e.delivery_id = d.id
                     WHERE d.request_id = r.id AND e.action = 'file') AS events,
                   (SELECT count(*) FROM delivery d JOIN outbox_job j
                     ON j.idempotency_key = 'dispatch-' || d.id
                     WHERE d.request_id = r.id AND j.kind = 'delivery.dispatch') AS jobs
              FROM rights_request r
            """
        )
        expected = len(SLUGS)
        half = [
            dict(r)
            for r in incomplete
            if (r["deliveries"], r["events"], r["jobs"]) != (expected,) * 3
        ]
        assert not half, half
        assert len(incomplete) == len(keys)
    finally:
        await direct.close()


async def test_a_filing_cut_mid_transaction_is_absent_then_filed_once(
    proxied_app: tuple[Starlette, TcpProxy], mail_sink: MailSink
) -> None:
    app, proxy = proxied_app
    for slug in SLUGS:
        await make_signatory(slug)
    key = secrets.token_urlsafe(16)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        await log_in(client, build_worker(app.state.runtime), mail_sink, EMAIL)
        # The request row and its deliveries are written; the first delivery's history entry
        # never reaches PostgreSQL: the link drops right then.
        proxy.cut_when_sent(b"INSERT INTO", b"delivery_event")
        traffic = Traffic(phase="outage")
        assert await _file(client, traffic, key) == 503
        assert proxy.tripped.is_set(), "the cut did not come in the middle of the filing"
        await _assert_nothing_half_written(set())

        await proxy.restore()
        assert await _file(client, traffic, key) == 303
        assert await _file(client, traffic, key) == 303  # sent twice: filed once
    assert not traffic.failures, traffic.failures
    await _assert_nothing_half_written({key})
