"""The printable receipt page and the raw signed file."""

from __future__ import annotations

import html
import uuid
from urllib.parse import quote

import httpx
from starlette.applications import Starlette

from desk.receipts.models import Receipt
from desk.receipts.qr import qr_svg
from desk.receipts.services import receipt_subject
from desk.requests import transitions
from desk.requests.models import Delivery, RequestKind, RightsRequest
from desk.requests.services import file_request
from tests.desk.receipts.conftest import fulfil_all, tamper
from tests.factories import make_resident, make_signatory

QR_LABEL = "Code QR : ouvre ce reçu sur le guichet, qui le vérifie"


async def test_receipt_page_is_printable_with_a_qr_code_and_no_email(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    resident = await make_resident("dominique@exemple.invalid")
    [receipt] = await fulfil_all(app, slugs=["eau-du-ponant"], resident=resident)
    request = await RightsRequest.get(deliveries__id=receipt.delivery_id)  # type: ignore[attr-defined]

    response = await client.get(f"/recus/{receipt.id}")

    assert response.status_code == 200
    text = response.text
    assert "<h1>Reçu de suppression partielle de données</h1>" in text
    assert request.reference in text
    assert "Eau Du Ponant" in text
    assert "Données effacées" in text and "coordonnées" in text
    assert "<svg" in text
    assert f'<code class="mono">{receipt.jws}</code>' in text
    assert f'href="/recus/{receipt.id}.jws"' in text
    # The receipt's own pseudonym, never the resident's (which would link their receipts).
    assert receipt_subject(pseudonym=resident.pseudonym, receipt_id=receipt.id) in text
    assert resident.pseudonym not in text
    assert "dominique@exemple.invalid" not in text
    # The QR code holds the receipt's short address, not its whole signed text (issue 17).
    expected = qr_svg(f"http://testserver/recus/{receipt.id}", label=QR_LABEL)
    assert expected is not None and str(expected) in text
    assert quote(receipt.jws, safe="")[:40] not in text.split("<svg", 1)[1].split("</svg>")[0]
    # No raw code of the W3C vocabulary reaches people; its meaning does.
    assert "RequestFulfilled" not in text and "DPV" not in text
    assert "En clair : demande satisfaite." in html.unescape(text)
    assert response.headers["x-robots-tag"].startswith("noindex")


async def test_a_long_receipt_still_gets_a_small_qr_code_of_its_page(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    outcome = {
        "result": "erased",
        "erased_categories": [
            f"catégorie de données numéro {n} avec un intitulé assez long" for n in range(40)
        ],
        "recipients_notified": [],
    }
    [receipt] = await fulfil_all(app, slugs=["eau-du-ponant"], outcome=outcome)
    assert len(receipt.jws) > 2000

    response = await client.get(f"/recus/{receipt.id}")

    assert response.status_code == 200
    assert "<h1>Reçu de suppression de données</h1>" in response.text
    expected = qr_svg(f"http://testserver/recus/{receipt.id}", label=QR_LABEL)
    assert expected is not None and str(expected) in response.text


async def test_denial_receipt_has_its_own_title_and_reason(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    runtime = app.state.runtime
    resident = await make_resident()
    signatory = await make_signatory("bibus")
    filed = await file_request(
        resident_id=resident.id, kind=RequestKind.ACCESS, signatory_ids=[signatory.id]
    )
    delivery = await Delivery.get(request_id=filed.id)
    await transitions.deny(
        delivery_id=delivery.id,
        actor="partner",
        keyring=runtime.keyring,
        issuer=runtime.issuer,
        reason="insuf_verification",
    )
    receipt = await Receipt.get(delivery_id=delivery.id)

    response = await client.get(f"/recus/{receipt.id}")

    assert response.status_code == 200
    text = html.unescape(response.text)
    assert "<h1>Reçu de refus d'une demande</h1>" in text
    assert "pas pu vérifier assez l'identité" in text
    assert "Obtenir une copie de ses données" in text


async def test_jws_download_is_the_exact_signed_token(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    [receipt] = await fulfil_all(app, slugs=["eau-du-ponant"])

    response = await client.get(f"/recus/{receipt.id}.jws")

    assert response.status_code == 200
    assert response.text == receipt.jws
    assert response.headers["content-type"] == "application/jose"
    assert (
        response.headers["content-disposition"] == f'attachment; filename="recu-{receipt.id}.jws"'
    )


async def test_unknown_receipt_is_a_french_404(client: httpx.AsyncClient) -> None:
    for path in (
        f"/recus/{uuid.uuid4().hex}",
        f"/recus/{uuid.uuid4().hex}.jws",
        "/recus/n'importe-quoi",
        "/recus/..jws",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert "Ce reçu est introuvable" in response.text, path


async def test_a_damaged_stored_receipt_is_flagged_not_shown_as_valid(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    [receipt] = await fulfil_all(app, slugs=["eau-du-ponant"])
    forged = tamper(receipt.jws, lambda p: p.update(erased_categories=["tout"]))
    await Receipt.filter(id=receipt.id).update(jws=forged)

    response = await client.get(f"/recus/{receipt.id}")

    assert response.status_code == 200
    assert "Ce reçu ne passe pas la vérification" in response.text
    assert "Données effacées" not in response.text
