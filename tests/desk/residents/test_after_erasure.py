"""After an erasure the dashboard, the signatory card and the erase-everywhere page tell the
truth: what a signatory holds is what it last said (issue 17, items 1, 2 and 4)."""

from __future__ import annotations

import re
from typing import Any

import httpx
from starlette.applications import Starlette

from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.requests import transitions
from desk.requests.models import Delivery, RequestKind, RightsRequest
from desk.residents.standing import Status, standing
from tests.desk.residents.helpers import log_in, page_text, post_form
from tests.factories import make_signatory

EMAIL = "morgane@exemple.invalid"
PARTIAL = {
    "result": "partial",
    "erased_categories": ["index"],
    "kept": [{"category": "factures", "legal_basis": "Code de commerce", "retention": "10 ans"}],
}


async def _answer(app: Starlette, delivery: Delivery, action: str, **kwargs: Any) -> None:
    rt = app.state.runtime
    step = getattr(transitions, action)
    await step(
        delivery_id=delivery.id, actor="partner", keyring=rt.keyring, issuer=rt.issuer, **kwargs
    )


async def _by_slug(reference: str) -> dict[str, Delivery]:
    rows = await Delivery.filter(request__reference=reference).select_related("signatory")
    return {d.signatory.slug: d for d in rows}


def _reference(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    return response.headers["location"].rsplit("/", 1)[-1]


def _asked(page: httpx.Response) -> list[str]:
    """The signatories an erasure confirmation page would ask (its hidden fields)."""
    return re.findall(r'name="signatory" value="([^"]+)"', page.text)


async def _confirm_everywhere(client: httpx.AsyncClient) -> str:
    page = await client.get("/mon-espace/supprimer?tous=1")
    assert page.status_code == 200
    key = re.search(r'name="submission_key" value="([^"]+)"', page.text)
    assert key
    filed = await post_form(
        client,
        "/mon-espace/demandes",
        {"kind": "erasure", "signatory": _asked(page), "submission_key": key.group(1)},
    )
    return _reference(filed)


async def _register() -> None:
    await make_signatory("eau-du-ponant", name="Eau du Ponant")  # will say: holds data
    await make_signatory("bibus", name="Bibus")  # will say: nothing held
    await make_signatory("logis-brest", name="Logis Brest")  # will not answer discovery


async def test_erase_everywhere_then_every_page_says_erased(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await _register()
    await log_in(client, worker, mail_sink, EMAIL)
    discovery = _reference(
        await post_form(
            client, "/mon-espace/demandes", {"kind": "discovery", "submission_key": "decouverte-1"}
        )
    )
    asked = await _by_slug(discovery)
    await _answer(
        app,
        asked["eau-du-ponant"],
        "fulfil",
        outcome={"holds_data": True, "declarations": ["traitement-1"], "categories": ["index"]},
    )
    await _answer(app, asked["bibus"], "fulfil", outcome={"holds_data": False})

    # Erase everywhere: the holder and the one that has not answered; the confirmation page says
    # which is which, and names the one left out.
    confirm = await client.get("/mon-espace/supprimer?tous=1")
    text = page_text(confirm)
    assert sorted(_asked(confirm)) == ["eau-du-ponant", "logis-brest"]
    assert "Ont répondu détenir des données sur vous (1)" in text
    assert "N'ont pas encore répondu, ou n'ont pas été interrogés (1)" in text
    assert "Bibus : a répondu ne détenir aucune donnée sur vous" in text
    assert text.index("Eau du Ponant") < text.index("N'ont pas encore répondu")
    assert text.index("Logis Brest") > text.index("N'ont pas encore répondu")

    erasure = await _confirm_everywhere(client)
    erasing = await _by_slug(erasure)
    assert sorted(erasing) == ["eau-du-ponant", "logis-brest"]
    # While the erasure is awaited, the dashboard says so and offers nothing more to erase there.
    waiting = page_text(await client.get("/mon-espace"))
    assert "Effacement demandé (2)" in waiting
    assert "signataire=eau-du-ponant" not in waiting

    await _answer(
        app,
        erasing["eau-du-ponant"],
        "fulfil",
        outcome={"result": "erased", "erased_categories": ["index"]},
    )
    receipt_link = re.compile(r'href="/recus/([^"]+)"')

    dashboard = await client.get("/mon-espace")
    text = page_text(dashboard)
    assert "Données effacées (1)" in text
    assert re.search(r"Eau du Ponant</a> :\s*données effacées le \d", text)
    assert "Eau du Ponant détient des données" not in text
    assert "détient des données" not in text.split("Mes demandes")[0]
    assert receipt_link.search(dashboard.text)
    assert "signataire=eau-du-ponant" not in text  # no red button where nothing is left

    card = await client.get("/mon-espace/signataires/eau-du-ponant")
    text = page_text(card)
    assert re.search(r"Données effacées le \d", text)
    assert "Eau du Ponant détient des données sur vous" not in text
    assert "/mon-espace/supprimer?signataire=eau-du-ponant" not in text
    assert "Obtenir une copie" not in text
    assert receipt_link.search(card.text)

    # A second erase-everywhere offers only what is left: Logis Brest is still answering.
    again = await client.get("/mon-espace/supprimer?tous=1")
    text = page_text(again)
    assert _asked(again) == []
    assert "Il ne reste aucun signataire à qui demander d'effacer vos données." in text
    assert re.search(r"Eau du Ponant : données effacées le \d", text)
    assert "Logis Brest : effacement déjà demandé" in text

    # Logis Brest answers "nothing held": left out from now on, with its date.
    await _answer(app, erasing["logis-brest"], "fulfil", outcome={"result": "nothing_held"})
    card_text = page_text(await client.get("/mon-espace/signataires/logis-brest"))
    assert "Logis Brest a répondu ne détenir aucune donnée sur vous." in card_text
    assert "Obtenir une copie" not in card_text and "supprimer?signataire" not in card_text
    assert "Logis Brest : a répondu ne détenir aucune donnée sur vous" in page_text(
        await client.get("/mon-espace/supprimer?tous=1")
    )


async def test_erase_everywhere_before_any_discovery_asks_every_signatory(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await _register()
    await log_in(client, worker, mail_sink, EMAIL)
    dashboard = await client.get("/mon-espace")
    text = page_text(dashboard)
    # One clear first step, and no button per signatory.
    first = re.search(r"<button[^>]*>([^<]+)</button>", dashboard.text.split("<main")[1])
    assert first and first.group(1) == "Savoir qui détient mes données"
    assert "signataire=" not in text
    assert text.count("Obtenir une copie") == 0
    assert 'href="/mon-espace/supprimer?tous=1"' in dashboard.text

    confirm = await client.get("/mon-espace/supprimer?tous=1")
    text = page_text(confirm)
    assert sorted(_asked(confirm)) == ["bibus", "eau-du-ponant", "logis-brest"]
    assert "Vous n'avez pas encore demandé qui détient vos données" in text
    reference = await _confirm_everywhere(client)
    request = await RightsRequest.get(reference=reference)
    assert request.kind == RequestKind.ERASURE
    assert await Delivery.filter(request_id=request.id).count() == 3


async def test_a_newer_answer_wins_and_a_new_question_is_awaited(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    """The rule itself: erased after "holds" is erased; asked again after that is awaited."""
    await make_signatory("eau-du-ponant", name="Eau du Ponant")
    await log_in(client, worker, mail_sink, EMAIL)

    async def file(kind: str) -> Delivery:
        reference = _reference(
            await post_form(
                client,
                "/mon-espace/demandes",
                {"kind": kind, "signatory": "eau-du-ponant", "submission_key": f"cle-{kind}-01"},
            )
        )
        return (await _by_slug(reference))["eau-du-ponant"]

    async def now() -> Status:
        rows = await Delivery.filter(signatory__slug="eau-du-ponant").select_related("request")
        return standing(rows).status

    assert await now() == Status.NOT_ASKED
    discovery = await file("discovery")
    assert await now() == Status.WAITING
    await _answer(app, discovery, "fulfil", outcome={"holds_data": True, "categories": ["index"]})
    assert await now() == Status.HOLDS
    erasure = await file("erasure")
    assert await now() == Status.ERASING
    await _answer(app, erasure, "fulfil", outcome=PARTIAL)
    assert await now() == Status.PARTLY_ERASED
    objection = await file("objection")
    await _answer(app, objection, "fulfil", outcome={"result": "stopped"})
    assert await now() == Status.PARTLY_ERASED  # an objection erases nothing
    await post_form(
        client,
        "/mon-espace/demandes",
        {"kind": "discovery", "signatory": "eau-du-ponant", "submission_key": "cle-again-01"},
    )
    assert await now() == Status.WAITING


async def test_a_legal_basis_code_reaches_people_as_words(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await make_signatory("eau-du-ponant", name="Eau du Ponant")
    await log_in(client, worker, mail_sink, EMAIL)
    reference = _reference(
        await post_form(
            client,
            "/mon-espace/demandes",
            {"kind": "erasure", "signatory": "eau-du-ponant", "submission_key": "cle-code-001"},
        )
    )
    kept = {"category": "factures", "legal_basis": "legal_obligation", "retention": "10 ans"}
    await _answer(
        app,
        (await _by_slug(reference))["eau-du-ponant"],
        "fulfil",
        outcome={"result": "partial", "erased_categories": ["index"], "kept": [kept]},
    )
    page = await client.get(f"/mon-espace/demandes/{reference}")
    text = page_text(page)
    assert "factures (raison : obligation légale, pendant 10 ans)" in text
    assert "legal_obligation" not in text
    # Elision: "auprès d'Eau du Ponant", never "auprès de Eau du Ponant".
    assert "de Eau du Ponant" not in text
    receipt = re.search(r'href="/recus/([^"]+)"', page.text)
    assert receipt
    shown = page_text(await client.get(f"/recus/{receipt.group(1)}"))
    assert "raison légale : obligation légale" in shown
    assert "legal_obligation" not in shown and "RequestFulfilled" not in shown
    english = page_text(await client.get(f"/recus/{receipt.group(1)}?lang=en"))
    assert "legal obligation" in english.lower()
