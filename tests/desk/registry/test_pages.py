from __future__ import annotations

import html

import httpx

from desk.demo.seed import seed_demo
from desk.registry.models import CharterStatus, Signatory


def _text(response: httpx.Response) -> str:
    return html.unescape(response.text)


async def test_register_lists_every_signatory_in_french(client: httpx.AsyncClient) -> None:
    await seed_demo()

    response = await client.get("/signataires")

    assert response.status_code == 200
    text = _text(response)
    assert '<html lang="fr">' in text
    assert "Les signataires de la charte" in text
    assert "Une déclaration décrit un usage de vos données" in text
    async for signatory in Signatory.all():
        assert f'<a href="/signataires/{signatory.slug}">{signatory.name}</a>' in text
    assert "Collectivité ou organisme public" in text
    assert "Opérateur de service public" in text
    assert "Bailleur social" in text
    assert "13 octobre 2022" in text  # Brest métropole's signing date, in French
    assert "par courriel au délégué à la protection des données" in text
    assert "automatiquement (démonstration)" in text
    assert "3 déclarations" in text
    assert 'href="/donnees-ouvertes/signataires.csv"' in text


async def test_register_shows_a_suspended_signatory_as_such(client: httpx.AsyncClient) -> None:
    await seed_demo()
    await Signatory.filter(slug="sotraval").update(charter_status=CharterStatus.SUSPENDED)

    text = _text(await client.get("/signataires"))

    assert "Suspendu" in text


async def test_signatory_page_explains_each_declaration(client: httpx.AsyncClient) -> None:
    await seed_demo()

    response = await client.get("/signataires/eau-du-ponant")

    assert response.status_code == 200
    text = _text(response)
    assert "<h1>Eau du Ponant</h1>" in text
    assert "Gestion des abonnements à l'eau" in text
    assert "Télérelevé des compteurs" in text
    assert "contrat" in text and "mission d'intérêt public" in text
    assert "nécessaires au contrat que vous avez passé" in text  # the legal basis in plain words
    assert "consommation d'eau" in text
    # Recipients are entries of the register of organisations, linked to their page.
    assert (
        '<a href="/organisations/fonds-de-solidarite-pour-le-logement-du-finistere">'
        "Fonds de solidarité pour le logement du Finistère</a>"
    ) in text
    assert '<a href="/signataires/brest-metropole">Brest métropole</a>' in text
    assert "Durée du contrat, puis 5 ans" in text
    assert "Étude d'impact" in text and "habitudes de vie" in text
    assert "mailto:dpo@eau-du-ponant.exemple.invalid" in text
    assert "automatiquement (démonstration)" in text


async def test_signatory_without_recipients_says_so(client: httpx.AsyncClient) -> None:
    await seed_demo()

    text = _text(await client.get("/signataires/recyclerie-du-ponant"))

    assert "À personne : ces données restent chez cet organisme." in text


async def test_unknown_signatory_is_a_french_404_page(client: httpx.AsyncClient) -> None:
    await seed_demo()

    for path in ("/signataires/nexiste-pas", "/signataires/BIBUS%3Cscript%3E"):
        response = await client.get(path)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
        text = _text(response)
        assert "Page introuvable" in text
        assert "Aucun signataire de la charte ne correspond à cette adresse" in text
        assert "<script>" not in response.text
