"""Issue 17 item 9: object to one declaration, or withdraw a consent given for one purpose.

Recorded as an objection scoped to one declaration, carried to the signatory by its adapter,
answered through the partner API, with a signed receipt naming the purpose, shown on the
signatory card and the request page.
"""

from __future__ import annotations

import base64
import json

import httpx
from starlette.applications import Starlette

from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.receipts.models import Receipt
from desk.registry.models import Declaration, Signatory
from desk.requests.models import Delivery, RequestKind, RightsRequest
from tests.desk.residents.helpers import log_in, page_text, post_form
from tests.factories import make_resident, make_signatory
from tests.helpers import partner_bearer

EMAIL = "camille@exemple.invalid"
CARD = "/mon-espace/signataires/eau-du-ponant"


async def _signatory() -> Signatory:
    """Eau du Ponant: billing on a contract, a newsletter on consent, a survey on its
    legitimate interest; and another signatory that must not be asked anything."""
    signatory = await make_signatory("eau-du-ponant", name="Eau du Ponant", declarations=1)
    await make_signatory("bibus", name="Bibus")
    for code, title, basis in (
        ("lettre", "Lettre d'information", "consent"),
        ("enquete", "Enquêtes de satisfaction", "legitimate_interest"),
    ):
        await Declaration.create(
            signatory=signatory,
            code=code,
            title=title,
            purposes=f"{title} : vous écrire quelques fois par an.",
            legal_basis=basis,
            data_categories=["coordonnées"],
            retention="jusqu'au retrait",
        )
    return signatory


def _payload(token: str) -> dict[str, object]:
    body = token.split(".")[1]
    data: dict[str, object] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return data


async def test_withdrawing_one_consent_goes_to_the_signatory_and_comes_back_with_a_receipt(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    signatory = await _signatory()
    await make_resident(EMAIL)
    await log_in(client, worker, mail_sink, EMAIL)

    card = page_text(await client.get(CARD))
    assert "Retirer mon consentement" in card  # the newsletter, on consent
    assert "M'opposer à ce traitement" in card  # the survey, on legitimate interest
    assert card.count('name="ground"') == 2  # nothing for the contract's billing

    filed = await post_form(
        client,
        f"{CARD}/finalites",
        {"declaration": "lettre", "ground": "consent_withdrawal", "submission_key": "k" * 16},
    )
    assert filed.status_code == 303
    request = await RightsRequest.get(kind=RequestKind.OBJECTION)
    assert request.consent_withdrawal is True
    assert request.scope is not None and request.scope["title"] == "Lettre d'information"
    (delivery,) = await Delivery.filter(request_id=request.id)
    assert delivery.signatory_id == signatory.id  # type: ignore[attr-defined]
    page = page_text(await client.get(filed.headers["location"]))
    assert "Vous retirez le consentement que vous aviez donné pour un seul traitement" in page
    assert "« Lettre d'information »" in page

    # The same click again, while it is open: the same request, not a second one.
    again = await post_form(
        client,
        f"{CARD}/finalites",
        {"declaration": "lettre", "ground": "consent_withdrawal", "submission_key": "j" * 16},
    )
    assert again.headers["location"] == filed.headers["location"]
    assert await RightsRequest.filter(kind=RequestKind.OBJECTION).count() == 1
    pending = page_text(await client.get(CARD))
    assert "Retrait du consentement envoyé le" in pending
    assert pending.count('name="ground"') == 1

    # Carried by the signatory's adapter (email): the DPO reads which purpose.
    mail_sink.clear()
    await worker.run_until_idle()
    (dpo,) = mail_sink.to(signatory.dpo_email)
    assert "retire le consentement qu'elle avait donné pour un seul traitement" in dpo.text
    assert "Lettre d'information" in dpo.text
    answer_link = next(link for link in dpo.links if "/partenaires/reponse/" in link)
    answer_page = page_text(await client.get(answer_link.removeprefix("http://testserver")))
    assert "Retrait du consentement pour ce seul traitement" in answer_page

    # The partner API shows the scope and takes the answer.
    auth = await partner_bearer(client, "eau-du-ponant")
    document = (await client.get(f"/api/v1/deliveries/{delivery.id}", headers=auth)).json()
    assert document["scope"]["declaration"] == "lettre"
    assert document["scope"]["ground"] == "consent_withdrawal"
    done = await client.post(
        f"/api/v1/deliveries/{delivery.id}/fulfil",
        json={"outcome": {"result": "stopped"}},
        headers=auth,
    )
    assert done.status_code == 200, done.text

    receipt = await Receipt.get(delivery_id=delivery.id)
    signed = _payload(receipt.jws)
    assert signed["scope"] == {
        "declaration": "lettre",
        "title": "Lettre d'information",
        "ground": "consent_withdrawal",
    }
    shown = page_text(await client.get(f"/recus/{receipt.id}"))
    assert "Traitement visé" in shown and "« Lettre d'information »" in shown
    assert "Retrait du consentement donné pour ce seul traitement" in shown

    after = page_text(await client.get(CARD))
    assert "Consentement retiré : Eau du Ponant a répondu le" in after
    assert f"/recus/{receipt.id}" in after
    request_page = page_text(await client.get(filed.headers["location"]))
    assert f"/recus/{receipt.id}" in request_page
    english = page_text(await client.get(f"{CARD}?lang=en"))
    assert "Consent withdrawn" in english and "Consentement retiré" not in english


async def test_an_objection_to_one_purpose_and_the_refusals(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await _signatory()
    await make_resident(EMAIL)
    await log_in(client, worker, mail_sink, EMAIL)

    objected = await post_form(
        client, f"{CARD}/finalites", {"declaration": "enquete", "ground": "objection"}
    )
    assert objected.status_code == 303
    request = await RightsRequest.get(kind=RequestKind.OBJECTION)
    assert request.consent_withdrawal is False
    assert "Vous vous opposez à un seul traitement" in page_text(
        await client.get(objected.headers["location"])
    )

    refusals = {
        # No consent to withdraw on a contract; no objection either (Art. 21).
        ("traitement-1", "consent_withdrawal"): (422, "ne repose pas sur votre consentement"),
        ("traitement-1", "objection"): (422, "le droit d'opposition ne s'y applique pas"),
        ("lettre", "objection"): (422, "retirez-le plutôt"),
        ("inconnu", "objection"): (404, "Ce traitement est introuvable"),
        ("lettre", "tout"): (422, "Choisissez de vous opposer"),
    }
    for (code, ground), (status, words) in refusals.items():
        refused = await post_form(
            client, f"{CARD}/finalites", {"declaration": code, "ground": ground}
        )
        assert refused.status_code == status, (code, ground)
        assert words in page_text(refused)
    unknown = await post_form(
        client,
        "/mon-espace/signataires/nulle-part/finalites",
        {"declaration": "x", "ground": "objection"},
    )
    assert unknown.status_code == 404
    assert await RightsRequest.filter(kind=RequestKind.OBJECTION).count() == 1
