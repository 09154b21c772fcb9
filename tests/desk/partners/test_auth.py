from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets

import httpx

from desk.partners import clients
from desk.partners.models import ClientSecret
from tests.factories import make_signatory


async def _token(client: httpx.AsyncClient, client_id: str, secret: str) -> httpx.Response:
    return await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )


async def test_client_credentials_give_a_short_lived_bearer_token(
    client: httpx.AsyncClient,
) -> None:
    await make_signatory("bibus")
    cred = await clients.create_client(slug="bibus")
    response = await _token(client, cred.client_id, cred.client_secret)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    assert response.headers["cache-control"] == "no-store"
    basic = base64.b64encode(f"{cred.client_id}:{cred.client_secret}".encode()).decode()
    via_basic = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert via_basic.status_code == 200


async def test_wrong_secret_unknown_client_and_bad_grant_are_refused(
    client: httpx.AsyncClient,
) -> None:
    await make_signatory("bibus")
    cred = await clients.create_client(slug="bibus")
    wrong = await _token(client, cred.client_id, "dsk_wrong")
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert "incorrect" in wrong.json()["detail"]
    unknown = await _token(client, "nobody", "x")
    assert unknown.status_code == 401
    grant = await client.post("/oauth/token", data={"grant_type": "password"})
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
    as_json = await client.post("/oauth/token", json={"grant_type": "client_credentials"})
    assert as_json.status_code == 400


async def test_rotation_keeps_two_secrets_then_drops_the_oldest(client: httpx.AsyncClient) -> None:
    await make_signatory("bibus")
    first = await clients.create_client(slug="bibus")
    second = await clients.rotate_secret(client_id=first.client_id)
    assert (await _token(client, first.client_id, first.client_secret)).status_code == 200
    assert (await _token(client, first.client_id, second.client_secret)).status_code == 200
    third = await clients.rotate_secret(client_id=first.client_id)
    assert (await _token(client, first.client_id, first.client_secret)).status_code == 401
    assert (await _token(client, first.client_id, third.client_secret)).status_code == 200


async def test_openapi_document_describes_the_token_endpoint(client: httpx.AsyncClient) -> None:
    document = (await client.get("/api/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    assert "post" in document["paths"]["/oauth/token"]


async def test_pages_are_served_while_a_partner_secret_is_being_checked(
    client: httpx.AsyncClient,
) -> None:
    """scrypt runs beside the event loop, not on it: a token request whose secret takes long
    to check (a costlier hash, stored as an older desk could have) holds up no one else."""
    await make_signatory("bibus")
    cred = await clients.create_client(slug="bibus")
    salt = secrets.token_bytes(16)
    # p=48 makes one check about 48 times as long as the desk's own (n=2**14, r=8, p=1) at
    # the same memory: seconds, against the page's milliseconds.
    costly = hashlib.scrypt(cred.client_secret.encode(), salt=salt, n=2**14, r=8, p=48, dklen=32)
    await ClientSecret.filter(client__client_id=cred.client_id).update(
        secret_hash=f"scrypt${2**14}$8$48${salt.hex()}${costly.hex()}"
    )
    answered = 0
    checking = asyncio.create_task(_token(client, cred.client_id, cred.client_secret))
    # Other pages keep being answered while that secret is checked: dozens of them. On the
    # event loop, none could be for the check's seconds; only the request's own few queries
    # around it would leave room for one or two.
    while not checking.done() and answered < 100:
        assert (await client.get("/signataires")).status_code == 200
        answered += 1
    assert (await asyncio.wait_for(checking, timeout=60)).status_code == 200
    assert answered >= 20, answered
