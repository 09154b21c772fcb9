"""Tortoise ORM: configuration, start-up, shut-down and migrations."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.migrations.api.migrate import migrate as tortoise_migrate

from desk.db_sqlite import WAL_SIZE_LIMIT

MODEL_MODULES = [
    "desk.registry.models",
    "desk.residents.models",
    "desk.requests.models",
    "desk.receipts.models",
    "desk.outbox.models",
    "desk.partners.models",
    "desk.staff.models",
    "desk.charter.models",
    "desk.mediation.models",
    "desk.helppoints.models",
    "desk.identity.models",
    "desk.audit.models",
    "desk.holdings.models",
    "desk.statistics.models",
    "desk.organisations.models",
]


# How long a PostgreSQL connection keeps a prepared statement, and so its plan (asyncpg's
# default: 300 s). After five runs PostgreSQL may keep one generic plan for the statement's life,
# made for the tables as they were then: on a database minutes old, plans made while `delivery`
# held a few hundred rows read it whole for every batch of 32 deliveries once it held 12,000
# (auto_explain, bench/concurrent_load.py --mode everywhere), until autovacuum's ANALYZE, and
# never with autovacuum off. Prepared again, a statement is planned for the tables as they are.
# A statement prepared anew costs one more round trip and five plans: every few seconds, not per
# run (a plan at every run cost the fan-out a third of its deliveries per second).
PLAN_LIFETIME_S = 5


def connection_config(database_url: str) -> str | dict[str, Any]:
    """PostgreSQL as the URL says, its pool's connections given back without a reset query;
    SQLite through the desk's client (desk.db_sqlite), its write-ahead log kept at its size."""
    config = expand_db_url(database_url)
    if database_url.startswith("sqlite"):
        config["engine"] = "desk.db_sqlite"
        if "journal_size_limit=" not in database_url:  # Tortoise's default is 16 KB
            config["credentials"]["journal_size_limit"] = WAL_SIZE_LIMIT
    elif config["engine"] == "tortoise.backends.asyncpg":
        config["credentials"]["reset"] = keep_session
        config["credentials"].setdefault("max_cached_statement_lifetime", PLAN_LIFETIME_S)
    return config


async def keep_session(connection: object) -> None:
    """What a pooled PostgreSQL connection needs before its next use: nothing beyond what
    asyncpg always does (an open transaction rolled back, listeners removed).

    asyncpg's default reset runs `pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`
    at every release, one more round trip per statement outside a transaction (9 % of the
    worker's samples sending mails, bench/fanout.py). The desk leaves no session state on a
    pooled connection: its advisory locks are transaction-scoped (`pg_advisory_xact_lock`),
    it declares no cursor outside a transaction, sets no session variable, and listens on a
    connection of its own (desk.outbox.wakeup). tests/desk/test_db.py checks that one."""


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": connection_config(database_url)},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": "desk.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


# Read by `tortoise makemigrations` (see [tool.tortoise] in pyproject.toml).
TORTOISE_ORM = tortoise_config(os.environ.get("DESK_DATABASE_URL", "sqlite://desk.sqlite3"))


async def init_db(database_url: str) -> None:
    # The global fallback lets tasks started outside the lifespan's context (the worker,
    # asgi-lifespan's background task in tests) reach the same connections.
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)


async def close_db() -> None:
    await Tortoise.close_connections()


async def migrate(database_url: str) -> None:
    """Apply every pending migration (idempotent)."""
    await tortoise_migrate(config=tortoise_config(database_url))
    await Tortoise.close_connections()


@contextlib.asynccontextmanager
async def connected(database_url: str) -> AsyncIterator[None]:
    """Tortoise initialised for the block, then closed: for commands outside the web app."""
    await init_db(database_url)
    try:
        yield
    finally:
        await close_db()
