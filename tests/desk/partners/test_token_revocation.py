"""A bearer token stops opening the partner API the moment its secret is revoked or retired by a
rotation, its client revoked, or its signatory excluded from the charter; not 15 minutes later."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import httpx
from starlette.applications import Starlette

from desk.charter import committee
from desk.charter.models import Alert, AlertLevel, DecisionOutcome
from desk.core import clock
from desk.partners import clients, tokens
from desk.partners.models import PartnerClient
from desk.staff.services import add_staff
from tests.desk.partners.token_support import real_secret
from tests.factories import make_signatory

WITHDRAWN = "Accès retiré"


async def _bearer(client: httpx.AsyncClient, client_id: str, secret: str) -> dict[str, str]:
    response = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _status(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    return (await client.get("/api/v1/deliveries", headers=headers)).status_code


def _assert_withdrawn(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"] == 'Bearer realm="desk", error="invalid_token"'
    assert WITHDRAWN in response.json()["detail"]
    assert "/oauth/token" in response.json()["detail"]


async def test_revoking_a_secret_closes_its_tokens_and_keeps_the_other_secrets(
    client: httpx.AsyncClient,
) -> None:
    await make_signatory("bibus")
    first = await clients.create_client(slug="bibus")
    second = await clients.rotate_secret(client_id=first.client_id)
    old = await _bearer(client, first.client_id, first.client_secret)
    new = await _bearer(client, first.client_id, second.client_secret)
    assert await _status(client, old) == 200 and await _status(client, new) == 200

    assert await clients.revoke_secret(client_id=first.client_id, prefix=first.client_secret[:8])
    _assert_withdrawn(await client.get("/api/v1/deliveries", headers=old))
    assert await _status(client, new) == 200


async def test_a_rotation_that_retires_a_secret_closes_its_tokens(
    client: httpx.AsyncClient,
) -> None:
    await make_signatory("bibus")
    first = await clients.create_client(slug="bibus")
    second = await clients.rotate_secret(client_id=first.client_id)
    by_first = await _bearer(client, first.client_id, first.client_secret)
    by_second = await _bearer(client, first.client_id, second.client_secret)

    third = await clients.rotate_secret(client_id=first.client_id)  # retires the first
    _assert_withdrawn(await client.get("/api/v1/deliveries", headers=by_first))
    assert await _status(client, by_second) == 200
    by_third = await _bearer(client, first.client_id, third.client_secret)
    assert await _status(client, by_third) == 200


async def test_excluding_the_signatory_or_revoking_the_client_closes_its_tokens(
    client: httpx.AsyncClient,
) -> None:
    excluded = await make_signatory("eau-exclue")
    kept = await make_signatory("bibus")
    theirs = await clients.create_client(slug=excluded.slug)
    ours = await clients.create_client(slug=kept.slug)
    excluded_token = await _bearer(client, theirs.client_id, theirs.client_secret)
    kept_token = await _bearer(client, ours.client_id, ours.client_secret)
    assert await _status(client, excluded_token) == 200

    # The committee's decision, as the staff pages make it.
    member = await add_staff(email="comite@exemple.invalid", display_name="C", role="committee")
    proposal = await Alert.create(
        signatory=excluded,
        level=AlertLevel.EXCLUSION_PROPOSED,
        reason="Aucune réponse",
        created_at=clock.now(),
    )
    await committee.decide(
        alert_id=proposal.id,
        member_id=member.id,
        outcome=DecisionOutcome.EXCLUDED,
        reasoning="Aucune réponse malgré trois alertes.",
        now=clock.now(),
    )
    _assert_withdrawn(await client.get("/api/v1/deliveries", headers=excluded_token))
    assert await _status(client, kept_token) == 200

    await PartnerClient.filter(client_id=ours.client_id).update(revoked_at=clock.now())
    _assert_withdrawn(await client.get("/api/v1/deliveries", headers=kept_token))


async def test_every_operation_refuses_a_token_whose_secret_was_revoked(
    client: httpx.AsyncClient,
) -> None:
    await make_signatory("bibus")
    cred = await clients.create_client(slug="bibus")
    headers = await _bearer(client, cred.client_id, cred.client_secret)
    await clients.revoke_secret(client_id=cred.client_id, prefix=cred.client_secret[:8])
    document = (await client.get("/api/openapi.json")).json()
    operations = [
        (method.upper(), path)
        for path, entries in document["paths"].items()
        if path.startswith("/api/v1/")
        for method in entries
    ]
    assert len(operations) == 14  # deliveries, answers, holdings, lineage, charter alerts
    for method, path in operations:
        url = path.replace("{delivery_id}", "1").replace("{alert_id}", "1")
        url = url.replace("{year}", "2026")
        response = await client.request(
            method, url, json={} if method == "POST" else None, headers=headers
        )
        assert response.status_code == 401, (method, path)
        assert WITHDRAWN in response.json()["detail"], (method, path)


async def test_a_token_naming_another_clients_secret_is_refused(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    mine = await make_signatory("bibus")
    await make_signatory("eau-du-ponant")
    my_client, _ = await real_secret(mine.slug)
    _, their_secret = await real_secret("eau-du-ponant")
    runtime = app.state.runtime
    crossed = tokens.issue(
        secret_key=runtime.settings.secret_key,
        issuer=runtime.issuer,
        client_id=my_client,
        signatory_id=mine.id,
        secret_id=their_secret,
    )
    response = await client.get(
        "/api/v1/deliveries", headers={"Authorization": f"Bearer {crossed}"}
    )
    _assert_withdrawn(response)


async def test_an_operator_revokes_a_leaked_secret_from_the_command_line(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await make_signatory("bibus")
    credential = await clients.create_client(slug="bibus")
    headers = await _bearer(client, credential.client_id, credential.client_secret)
    settings = app.state.settings
    env = {"DESK_DATABASE_URL": settings.database_url, "DESK_DATA_DIR": str(settings.data_dir),
           "DESK_SECRET_KEY": settings.secret_key, "PATH": "/usr/bin:/bin"}  # fmt: skip

    def desk(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "desk.cli", "partners", "revoke-secret", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    unknown = await asyncio.to_thread(desk, credential.client_id, "--prefix", "zzzzzzzz")
    assert unknown.returncode == 1 and "Aucun secret actif" in unknown.stderr
    assert await _status(client, headers) == 200

    prefix = credential.client_secret[:8]
    done = await asyncio.to_thread(desk, credential.client_id, "--prefix", prefix)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "révoqué" in done.stdout
    _assert_withdrawn(await client.get("/api/v1/deliveries", headers=headers))
