"""Signatories file a yearly self-evaluation (API or signed link); it is published."""

from __future__ import annotations

import html
from typing import Any

import httpx

from desk.charter import alerts
from desk.charter.selfeval import QUESTIONS
from desk.core import clock
from desk.settings import Settings
from tests.desk.charter.support import bearer
from tests.factories import make_signatory
from tests.helpers import csrf_token


def _answers(**overrides: Any) -> dict[str, Any]:
    answers: dict[str, Any] = {key: {"answer": "yes"} for key, _ in QUESTIONS}
    answers.update(overrides)
    return answers


async def test_self_evaluation_through_the_api_is_published(client: httpx.AsyncClient) -> None:
    await make_signatory("eau-du-ponant", name="Eau du Ponant")
    headers = await bearer(client, "eau-du-ponant")
    year = clock.local(clock.now()).year
    url = f"/api/v1/self-evaluations/{year}"

    incomplete = await client.put(url, json={"answers": {"dpo": "yes"}}, headers=headers)
    assert incomplete.status_code == 422
    assert "six questions" in incomplete.json()["detail"]
    unknown = await client.put(url, json={"answers": _answers(colour="yes")}, headers=headers)
    assert unknown.status_code == 422
    bare = await client.put(url, json={"answers": _answers(dpo="yes")}, headers=headers)
    assert bare.status_code == 422  # the document says each answer is an object
    comment: object
    for comment in ({}, [], 0, False, None, {"text": "oui"}):
        odd = _answers(dpo={"answer": "yes", "comment": comment})
        refused = await client.put(url, json={"answers": odd}, headers=headers)
        assert refused.status_code == 422, comment
        assert refused.json()["detail"] == "Un commentaire doit être un texte."
    future = await client.put(
        f"/api/v1/self-evaluations/{year + 1}", json={"answers": _answers()}, headers=headers
    )
    assert future.status_code == 404
    assert (
        await client.put("/api/v1/self-evaluations/1999", json={}, headers=headers)
    ).status_code == 404
    wrong_type = await client.put(
        url,
        content=b"a=b",
        headers={**headers, "content-type": "application/x-www-form-urlencoded"},
    )
    assert wrong_type.status_code == 415

    created = await client.put(
        url,
        json={
            "answers": _answers(training={"answer": "partly", "comment": "La moitié des agents"})
        },
        headers=headers,
    )
    assert created.status_code == 201
    replaced = await client.put(
        url,
        json={"answers": _answers(training={"answer": "partly", "comment": "Deux tiers"})},
        headers=headers,
    )
    assert replaced.status_code == 200

    listing = html.unescape((await client.get("/signataires/eau-du-ponant/auto-evaluation")).text)
    assert f"Année {year}" in listing
    page = await client.get(f"/signataires/eau-du-ponant/auto-evaluation/{year}")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "Les agents qui traitent des données ont-ils été formés cette année ?" in text
    assert "En partie" in text and "Deux tiers" in text
    assert (await client.get("/signataires/eau-du-ponant/auto-evaluation/2023")).status_code == 404
    assert (await client.get("/signataires/eau-du-ponant/auto-evaluation/abc")).status_code == 404


async def test_self_evaluation_through_the_signed_link(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    signatory = await make_signatory("eau-du-ponant", name="Eau du Ponant")
    token = alerts.signatory_token(settings.secret_key, signatory_id=signatory.id)
    path = alerts.signatory_path(token)
    page = await client.get(path)
    assert page.status_code == 200
    assert "Auto-évaluation" in html.unescape(page.text)
    csrf = await csrf_token(client, path)

    partial = await client.post(f"{path}/auto-evaluation", data={"csrftoken": csrf, "dpo": "yes"})
    assert partial.status_code == 422
    assert "six questions" in html.unescape(partial.text)

    form = {
        "csrftoken": csrf,
        **{key: "yes" for key, _ in QUESTIONS},
        "impact": "no",
        "impact_comment": "Aucune étude encore",
    }
    done = await client.post(f"{path}/auto-evaluation", data=form)
    assert done.status_code == 303
    year = clock.local(clock.now()).year
    text = html.unescape(
        (await client.get(f"/signataires/eau-du-ponant/auto-evaluation/{year}")).text
    )
    assert "Aucune étude encore" in text and "Non" in text

    forged = await client.get(path[:-3] + "abc")
    assert forged.status_code == 404
