"""Helpers tests import: `from tests.helpers import csrf_token`."""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from desk.db import migrate
from desk.outbox import services
from desk.outbox.models import JobState, OutboxJob
from desk.outbox.worker import Worker

# DESK_PARTNER_ALLOWED_NETWORKS for the tests: their partners run on this machine.
LOCAL_PARTNER_NETWORKS = "127.0.0.1/32"

_migrated: Path | None = None


def migrated_sqlite(path: Path) -> Path:
    """At `path`, a copy of an SQLite database migrated once per test process: migrating a new
    database costs 7-8 s of CPU (Tortoise rebuilds its model state at each operation), and the
    tests that start `desk demo`, `desk serve` or `desk worker` on a database of their own paid
    it each time. Only tests of migrating itself start from an empty file."""
    global _migrated
    if _migrated is None:
        directory = Path(tempfile.mkdtemp(prefix="desk-migrated-"))
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        template = directory / "template.sqlite3"
        asyncio.run(migrate(f"sqlite://{template}"))
        _migrated = template
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_migrated, path)
    return path


async def column(query: QuerySet[Any], name: str) -> list[Any]:
    """One column of a query's rows: `values_list(name, flat=True)`, which the ORM's stubs type
    as a list of tuples."""
    rows: Any = await query.values_list(name, flat=True)
    return list(rows)


async def run_worker_until_done(worker: Worker, count: int, *, guard: float = 30) -> None:
    """Run the worker's lanes (`run_forever`: batched claims, coalesced and batched kinds) until
    `count` jobs are done or `guard` seconds pass, then stop it; the caller asserts the rest."""
    task = asyncio.create_task(worker.run_forever())
    try:
        for _ in range(int(guard * 20)):
            if await OutboxJob.filter(state=JobState.DONE).count() >= count:
                break
            await asyncio.sleep(0.05)
    finally:
        worker.stop()
        await asyncio.wait_for(task, timeout=guard)


async def enqueue_backlog(first: int, last: int) -> None:
    """Pending jobs keyed `backlog-<first>` to `backlog-<last>`, due now, their ids in that
    order, written as the desk writes many jobs (one statement)."""
    async with in_transaction() as connection:
        await services.enqueue_new(
            kind="test.backlog",
            jobs=[(f"backlog-{n}", {}) for n in range(first, last + 1)],
            connection=connection,
        )


async def csrf_token(client: httpx.AsyncClient, path: str = "/") -> str:
    """GET a page so the CSRF cookie is set, and return the token forms must carry."""
    await client.get(path)
    token = form_token(client)
    assert token, "the CSRF cookie was not set"
    return token


def form_token(client: httpx.AsyncClient) -> str:
    """The CSRF token the browser holds now (its cookie carries the current one: after a login,
    the logged-in session's); over https the cookie is named `__Host-csrftoken`."""
    return client.cookies.get("csrftoken") or client.cookies.get("__Host-csrftoken") or ""


async def partner_token(client: httpx.AsyncClient, slug: str) -> str:
    """A new API client for the signatory `slug`, and a bearer token from /oauth/token."""
    from desk.partners import clients

    credential = await clients.create_client(slug=slug)
    response = await client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": credential.client_id,
            "client_secret": credential.client_secret,
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def partner_bearer(client: httpx.AsyncClient, slug: str) -> dict[str, str]:
    """The Authorization header of `partner_token`."""
    return {"Authorization": f"Bearer {await partner_token(client, slug)}"}


def start_demo(
    tmp_path: Path, *, fresh: bool = False, **env_overrides: str
) -> tuple[subprocess.Popen[str], str]:
    """Start `desk demo` in tmp_path on a free port; returns (process, base URL) once it answers.
    Its database is migrated already (`migrated_sqlite`) unless `fresh`: then the demo makes it,
    as on a new machine."""
    if not fresh and "DESK_DATABASE_URL" not in env_overrides:
        migrated_sqlite(tmp_path / "desk-demo.sqlite3")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    env.update(DESK_DATA_DIR=str(tmp_path / "data"), **env_overrides)
    process = subprocess.Popen(
        [sys.executable, "-m", "desk.cli", "demo", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(base + "/", timeout=2)
            return process, base
        except httpx.TransportError:
            if process.poll() is not None:
                break
            time.sleep(0.2)
    process.kill()
    output = process.stdout.read() if process.stdout else ""
    raise AssertionError(f"desk demo did not start:\n{output}")


async def run_desk(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the `desk` command for real, in its own process, off the event loop."""
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "desk.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def resolved(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` of the OpenAPI `document`, following its $ref into the components."""
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = document["components"]["schemas"][name]
    return schema
