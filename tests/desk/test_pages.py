from __future__ import annotations

import httpx


async def test_home_is_french_and_states_accessibility(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert '<html lang="fr">' in response.text
    assert "partiellement conforme" in response.text
    assert 'href="/accessibilite"' in response.text
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_unknown_page_is_a_french_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/nulle-part")
    assert response.status_code == 404
    assert "Page introuvable" in response.text


async def test_unknown_json_path_is_problem_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nothing")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 404


async def test_post_without_csrf_token_is_refused_in_french(client: httpx.AsyncClient) -> None:
    response = await client.post("/deconnexion", data={"x": "1"})
    assert response.status_code == 403
    assert "Formulaire expiré" in response.text
