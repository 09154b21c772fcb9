"""/healthz and /readyz as a probe sees them; the request id every answer carries."""

from __future__ import annotations

import httpx
from tortoise import Tortoise

from desk.dbstatus import migrations_on_disk


async def test_healthz_answers_without_cookies(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    # Probes every few seconds must not mint sessions or CSRF cookies.
    assert "set-cookie" not in response.headers
    assert response.headers["x-request-id"]


async def test_readyz_is_ready_once_every_migration_is_applied(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ready"
    assert "set-cookie" not in response.headers


async def test_readyz_names_the_migration_not_applied(client: httpx.AsyncClient) -> None:
    latest = migrations_on_disk()[-1]
    connection = Tortoise.get_connection("default")
    rows = await connection.execute_query_dict(
        f"SELECT app, name, applied_at FROM tortoise_migrations WHERE name = '{latest}'"
    )
    await connection.execute_query(f"DELETE FROM tortoise_migrations WHERE name = '{latest}'")
    try:
        response = await client.get("/readyz")
    finally:
        # PostgreSQL's test database is shared by the whole session: put the record back.
        await connection.execute_insert(
            "INSERT INTO tortoise_migrations (app, name, applied_at) VALUES "
            + ("($1, $2, $3)" if connection.capabilities.dialect == "postgres" else "(?, ?, ?)"),
            [rows[0]["app"], rows[0]["name"], rows[0]["applied_at"]],
        )
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["retry-after"]
    body = response.json()
    assert body["pending_migrations"] == [latest]
    assert body["database"] == "ok"
    assert "desk migrate" in body["detail"]


async def test_a_well_formed_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/", headers={"X-Request-ID": "edge-7f3a9c21-0001"})
    assert response.headers["x-request-id"] == "edge-7f3a9c21-0001"


async def test_a_malformed_request_id_is_replaced(client: httpx.AsyncClient) -> None:
    response = await client.get("/", headers={"X-Request-ID": "<script>"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] != "<script>"
    assert len(response.headers["x-request-id"]) == 32
