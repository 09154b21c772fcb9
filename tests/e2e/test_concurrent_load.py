"""Nothing lost under concurrent load, with real processes: `desk serve`, `desk worker` and
reference partners answering through the partner API, on SQLite and on PostgreSQL.

Several residents, logged in through the mailed link, file requests at once, half of them
"erase everywhere", while partners answer by API and the simulated signatories answer from
the worker. Every request must reach a final state, every fulfilled erasure must have a
receipt whose inclusion proof verifies against a signed tree head, no process may log a 5xx
or "database is locked", and `desk audit verify` must find the log whole.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from bench.load import run_load

PG_URL = os.environ.get("DESK_TEST_DATABASE_URL", "")
REQUESTS = 100


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.skipif(
    not PG_URL, reason="DESK_TEST_DATABASE_URL not set"))])  # fmt: skip
async def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database: a new SQLite file, or a new database beside the test one."""
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path / 'load.sqlite3'}"
        return
    parts = urlsplit(PG_URL)
    # Named after the test database: runs sharing one server each keep to their own names.
    name = f"{parts.path.strip('/') or 'desk'}_load_{secrets.token_hex(4)}"
    server = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
    try:
        await server.execute(f'CREATE DATABASE "{name}"')
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await server.close()


async def test_a_hundred_concurrent_requests_all_complete_with_logged_receipts(
    empty_database: str, tmp_path: Path
) -> None:
    result = await run_load(
        work=tmp_path, database_url=empty_database, requests=REQUESTS, residents=6,
        concurrency=10, webhook_partners=2,
    )  # fmt: skip
    assert result.filing_statuses == {303: REQUESTS}
    assert result.open_requests == [], f"{len(result.open_requests)} requests never completed"
    # Half "erase everywhere": far more deliveries than requests, answered at the same moments.
    assert result.deliveries > 3 * REQUESTS
    assert result.receipts == result.deliveries
    assert result.receipt_problems == []
    assert result.server_errors == []
    assert result.partner_errors == []
    assert result.audit_exit == 0, result.audit_output
    assert "Aucune anomalie" in result.audit_output
