"""The NUL character is refused before any route, in French or problem+json; files may hold it."""

from __future__ import annotations

import json

import httpx

from tests.desk.residents.helpers import page_text
from tests.factories import make_signatory
from tests.helpers import csrf_token
from tests.security.world import bearer_headers


async def test_nul_in_an_address_a_query_or_a_form_is_refused_clearly(
    client: httpx.AsyncClient,
) -> None:
    await make_signatory("eau-nulle")
    address = await client.get("/signataires/eau-nulle%00/mes-donnees")
    assert address.status_code == 404

    query = await client.get("/verifier", params={"jws": "a\x00b"})
    assert query.status_code == 400
    assert "caractère nul" in page_text(query)

    token = await csrf_token(client, "/connexion")
    form = await client.post("/connexion", data={"csrftoken": token, "email": "a\x00@b.fr"})
    assert form.status_code == 400
    assert "caractère nul" in page_text(form)
    assert form.headers["content-type"].startswith("text/html")


async def test_nul_in_api_json_is_a_problem_but_a_binary_copy_passes(
    client: httpx.AsyncClient,
) -> None:
    x = await make_signatory("eau-nulle")
    auth = await bearer_headers(client, x.slug)
    body = json.dumps({"reason": "a\x00b", "extra_months": 1})  # escaped as \u0000
    refused = await client.post(
        "/api/v1/deliveries/1/extend",
        content=body,
        headers={**auth, "content-type": "application/json"},
    )
    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "caractère nul" in refused.json()["detail"]

    # A PDF holds NUL bytes: on the upload routes the guard lets the file through, and the
    # route answers about the delivery (none here), not about the bytes.
    pdf = await client.post(
        "/api/v1/deliveries/999/fulfil",
        data={"outcome": json.dumps({"holds_data": True})},
        files={"copy": ("copie.pdf", b"%PDF-1.4\x00\x00binary", "application/pdf")},
        headers=auth,
    )
    assert pdf.status_code == 404


async def test_a_body_too_large_to_check_is_refused_outside_the_upload_routes(
    client: httpx.AsyncClient,
) -> None:
    token = await csrf_token(client, "/connexion")
    # Smaller than any form's ceiling (the largest upload), larger than what the guard reads.
    response = await client.post(
        "/connexion",
        data={"csrftoken": token, "email": "a@b.fr"},
        files={"piece": ("x.bin", b"0" * (9 * 1024 * 1024), "application/octet-stream")},
    )
    assert response.status_code == 413
    assert "trop volumineux" in page_text(response)
