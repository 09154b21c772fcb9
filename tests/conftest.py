"""Shared fixtures: a migrated database (SQLite, and PostgreSQL when DESK_TEST_DATABASE_URL is
set), a real SMTP server catching mail, the app with its lifespan, an HTTP client, a worker.

And the `unit` marker: every test that uses none of FUNCTIONAL_FIXTURES (directly or through
another fixture), lives outside FUNCTIONAL_DIRS and is not marked `functional` is marked
`unit`, so `python -m pytest -m unit` runs the pure tests alone (docs/testing.md)."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette
from tortoise.backends.base.executor import EXECUTOR_CACHE

from desk.app import create_app
from desk.db import migrate
from desk.jobs import build_worker
from desk.mail.sink import MailSink, SmtpSinkServer
from desk.outbox.worker import Worker
from desk.settings import Settings
from tests.helpers import LOCAL_PARTNER_NETWORKS, migrated_sqlite

PG_URL = os.environ.get("DESK_TEST_DATABASE_URL", "")

# Fixtures that reach a database, the app, a mail or HTTP server, a subprocess or a browser.
FUNCTIONAL_FIXTURES = frozenset(
    {
        "database_url", "app", "client", "worker", "smtp_server", "browser", "journey",
        "processes", "demo", "provider", "net", "partner", "receiver_factory", "index",
        "extracted",
    }
)  # fmt: skip
# Browser journeys and fault injection: functional whatever their fixtures.
FUNCTIONAL_DIRS = ("e2e", "faults")
TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        where = item.path.relative_to(TESTS).parts if item.path.is_relative_to(TESTS) else ()
        if where[:1] and where[0] in FUNCTIONAL_DIRS:
            continue
        if item.get_closest_marker("functional") is not None:
            continue
        if FUNCTIONAL_FIXTURES.isdisjoint(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.unit)


TABLES = [
    "receipt", "access_copy", "delivery_event", "delivery", "rights_request", "login_challenge",
    "resident", "declaration", "signatory", "outbox_job", "partner_client", "client_secret",
    "idempotency_record", "holding", "lineage_event", "staff_member", "committee_decision",
    "charter_alert", "self_evaluation", "complaint", "transparency_checkpoint",
    "mediation_event", "mediation_told", "assisted_filing", "mandate", "assisted_session",
    "mediation_contact", "resident_identity", "web_session", "audit_record",
    "statistics_snapshot", "receipt_log_node", "receipt_tree_head", "mediation_consent_code",
    "mediation_copy_taken", "committee_seat", "charter_suggestion",
    "register_organisation", "help_point", "dash_change",
]  # fmt: skip


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return migrated_sqlite(tmp_path_factory.mktemp("db") / "template.sqlite3")


@pytest.fixture(scope="session")
def postgres_migrated() -> str:
    asyncio.run(migrate(PG_URL))
    return PG_URL


def _database_params() -> list[object]:
    params: list[object] = ["sqlite"]
    params.append(
        pytest.param(
            "postgres",
            marks=pytest.mark.skipif(not PG_URL, reason="DESK_TEST_DATABASE_URL not set"),
        )
    )
    return params


@pytest.fixture(params=_database_params())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "desk.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite://{path}"
    url: str = request.getfixturevalue("postgres_migrated")
    asyncio.run(_truncate(url))
    return url


async def _truncate(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


@pytest.fixture
def mail_sink() -> Iterator[MailSink]:
    yield MailSink()


@pytest.fixture
def smtp_server(mail_sink: MailSink) -> Iterator[SmtpSinkServer]:
    server = SmtpSinkServer(mail_sink)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, smtp_server: SmtpSinkServer) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key="test-secret-key-not-for-production",
        base_url="http://testserver",
        data_dir=tmp_path / "data",
        smtp_port=smtp_server.port,
        demo=True,
        simulated_delay=0.0,
        outbox_base_delay=0.01,
        outbox_max_delay=0.05,
        worker_poll_interval=0.05,
        # The tests' partners (reference partner, fault servers) listen on 127.0.0.1: said
        # explicitly, as an operator would for a town's internal partners.
        partner_allowed_networks=LOCAL_PARTNER_NETWORKS,
    )


@pytest.fixture
async def app(settings: Settings, mail_sink: MailSink) -> AsyncIterator[Starlette]:
    # Tortoise caches each table's INSERT statement per connection name, whatever the dialect;
    # this suite switches between SQLite and PostgreSQL in one process.
    EXECUTOR_CACHE.clear()
    application = create_app(settings, mail_sink=mail_sink)
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def worker(app: Starlette) -> Worker:
    """A worker sharing the app's runtime; tests call `await worker.run_until_idle()`."""
    return build_worker(app.state.runtime)
