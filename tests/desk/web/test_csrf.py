from __future__ import annotations

import httpx

from tests.helpers import csrf_token


async def test_form_with_its_token_passes(client: httpx.AsyncClient) -> None:
    token = await csrf_token(client)
    response = await client.post("/deconnexion", data={"csrftoken": token})
    assert response.status_code == 303


async def test_multipart_form_with_token_first_passes(client: httpx.AsyncClient) -> None:
    token = await csrf_token(client)
    response = await client.post(
        "/deconnexion", data={"csrftoken": token}, files={"f": ("a.txt", b"x", "text/plain")}
    )
    assert response.status_code == 303


async def test_a_file_before_the_token_is_refused(client: httpx.AsyncClient) -> None:
    token = await csrf_token(client)
    body = (
        b'--B\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\n\r\nx\r\n'
        b'--B\r\nContent-Disposition: form-data; name="csrftoken"\r\n\r\n'
        + token.encode()
        + b"\r\n--B--\r\n"
    )
    response = await client.post(
        "/deconnexion", content=body, headers={"content-type": "multipart/form-data; boundary=B"}
    )
    assert response.status_code == 403
    assert "Formulaire expiré" in response.text


async def test_a_wrong_token_is_refused(client: httpx.AsyncClient) -> None:
    await csrf_token(client)
    response = await client.post("/deconnexion", data={"csrftoken": "forged"})
    assert response.status_code == 403


async def test_the_header_carries_the_token_too(client: httpx.AsyncClient) -> None:
    token = await csrf_token(client)
    response = await client.post("/deconnexion", headers={"x-csrftoken": token})
    assert response.status_code == 303


async def test_malformed_and_oversized_forms_get_clear_answers(client: httpx.AsyncClient) -> None:
    await csrf_token(client)
    form = {"content-type": "application/x-www-form-urlencoded"}
    bad = await client.post("/deconnexion", content=b"csrftoken=\xff\xfe", headers=form)
    assert bad.status_code == 400 and "illisible" in bad.text
    huge = await client.post("/deconnexion", content=b"a=" + b"x" * 300_000, headers=form)
    assert huge.status_code == 413
    odd = await client.post(
        "/deconnexion", content=b"{}", headers={"content-type": "application/json"}
    )
    assert odd.status_code == 403
