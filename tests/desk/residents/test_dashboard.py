from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from desk.core import clock
from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.requests import transitions
from desk.requests.effects import UploadedFile
from desk.requests.models import AccessCopy, Delivery, DeliveryState, RequestKind, RightsRequest
from desk.residents.services import purge_expired
from tests.desk.residents.helpers import log_in, page_text, post_form
from tests.factories import make_signatory


async def answer(app: Starlette, delivery: Delivery, action: str, **kwargs: Any) -> Delivery:
    """`action` names the transition function; fulfil and deny also sign a receipt."""
    rt = app.state.runtime
    if action in ("fulfil", "deny"):
        kwargs.update(keyring=rt.keyring, issuer=rt.issuer)
    transition = getattr(transitions, action)
    done: Delivery = await transition(delivery_id=delivery.id, actor="partner", **kwargs)
    return done


async def deliveries_of(reference: str) -> dict[str, Delivery]:
    rows = await Delivery.filter(request__reference=reference).select_related("signatory")
    return {d.signatory.slug: d for d in rows}


def reference_from(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/mon-espace/demandes/([A-Z0-9-]+)", response.headers["location"])
    assert match
    return match.group(1)


@pytest.fixture
async def other_client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def test_who_holds_my_data_journey(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await make_signatory("eau-du-ponant", name="Eau du Ponant")
    await make_signatory("bibus", name="Bibus")
    await log_in(client, worker, mail_sink, "camille@exemple.fr")

    empty = await client.get("/mon-espace")
    assert "Savoir qui détient mes données" in page_text(empty)
    assert 'http-equiv="refresh"' not in empty.text

    filed = await post_form(
        client, "/mon-espace/demandes", {"kind": "discovery", "submission_key": "cle-decouverte-1"}
    )
    reference = reference_from(filed)
    waiting = page_text(await client.get("/mon-espace"))
    assert "0 signataires sur 2 ont répondu" in waiting
    assert "<progress" in waiting
    # Refreshing by itself is offered, not imposed (issue 17).
    assert 'http-equiv="refresh"' not in waiting
    assert 'href="/mon-espace?actualiser=oui"' in waiting
    refreshing = await client.get("/mon-espace?actualiser=oui")
    assert '<meta http-equiv="refresh" content="10">' in refreshing.text
    assert "toutes les 10 secondes" in page_text(refreshing)
    assert 'href="/mon-espace?actualiser=non"' in refreshing.text
    assert "Réponse attendue (2)" in waiting
    # While discovery is pending, the first button is not "ask again".
    assert waiting.index("Demander à nouveau") > waiting.index("Réponse attendue (2)")

    by_slug = await deliveries_of(reference)
    holds = {"holds_data": True, "declarations": ["traitement-1"], "categories": ["coordonnées"]}
    await answer(app, by_slug["eau-du-ponant"], "fulfil", outcome=holds)
    half = page_text(await client.get("/mon-espace"))
    assert "1 signataire sur 2 a répondu" in half
    assert "détient des données" in half
    assert "Gestion des abonnés 1" in half  # the declaration's title, not its code

    await answer(app, by_slug["bibus"], "fulfil", outcome={"holds_data": False})
    done = page_text(await client.get("/mon-espace"))
    assert "2 signataires sur 2 ont répondu" in done
    assert "Ne détiennent aucune donnée sur vous (1)" in done
    assert 'http-equiv="refresh"' not in done
    assert "Supprimer mes données chez tous les signataires qui en détiennent" in done
    # No copy or erase button for the one that holds nothing.
    assert "signataire=bibus" not in done and "signataire=eau-du-ponant" in done

    await worker.run_until_idle()
    complete = [
        m for m in mail_sink.to("camille@exemple.fr") if "Tous les signataires" in m.subject
    ]
    assert len(complete) == 1
    assert "1 signataire détient des données sur vous" in complete[0].text
    assert "http://testserver/mon-espace" in complete[0].links

    # Erase everywhere data is held: the confirmation names only the holder.
    confirm = await client.get("/mon-espace/supprimer?tous=1")
    assert confirm.status_code == 200
    text = page_text(confirm)
    assert "Eau du Ponant" in text
    assert "Bibus : a répondu ne détenir aucune donnée sur vous" in text
    assert 'name="signatory" value="bibus"' not in confirm.text
    key = re.search(r'name="submission_key" value="([^"]+)"', confirm.text)
    assert key
    erasure = await post_form(
        client,
        "/mon-espace/demandes",
        {"kind": "erasure", "signatory": ["eau-du-ponant"], "submission_key": key.group(1)},
    )
    erasure_ref = reference_from(erasure)
    assert list(await deliveries_of(erasure_ref)) == ["eau-du-ponant"]
    page = page_text(await client.get(f"/mon-espace/demandes/{erasure_ref}"))
    assert "Supprimer mes données" in page
    assert "en attente d'envoi" in page


async def test_erasure_receipt_and_plain_french_answer(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await make_signatory("logis-brest", name="Logis Brest")
    await log_in(client, worker, mail_sink, "alex@exemple.fr")
    confirm = await client.get("/mon-espace/supprimer?signataire=logis-brest")
    assert "Confirmer : supprimer mes données chez Logis Brest" in page_text(confirm)
    reference = reference_from(
        await post_form(
            client, "/mon-espace/demandes", {"kind": "erasure", "signatory": "logis-brest"}
        )
    )
    delivery = (await deliveries_of(reference))["logis-brest"]
    await answer(app, delivery, "acknowledge")
    await answer(app, delivery, "extend", reason="Archives papier à consulter")
    await answer(
        app, delivery, "fulfil",
        outcome={
            "result": "partial",
            "erased_categories": ["coordonnées"],
            "kept": [
                {"category": "factures", "legal_basis": "Code de commerce", "retention": "10 ans"}
            ],
            "recipients_notified": ["Trésor public"],
        },
    )  # fmt: skip
    page = page_text(await client.get(f"/mon-espace/demandes/{reference}"))
    assert "traitée" in page
    assert "Archives papier à consulter" in page
    assert "Logis Brest a effacé une partie de vos données" in page
    assert "factures (raison : Code de commerce, pendant 10 ans)" in page
    assert "Trésor public" in page
    receipt = re.search(r'href="/recus/([^"]+)"', page)
    assert receipt
    assert "Délai de réponse prolongé" in page  # the history

    await worker.run_until_idle()
    mails = mail_sink.to("alex@exemple.fr")
    extended = [m for m in mails if "prolonge" in m.subject]
    assert extended and "Archives papier à consulter" in extended[0].text
    receipts = [m for m in mails if "reçu" in m.subject]
    assert receipts
    assert f"http://testserver/recus/{receipt.group(1)}" in receipts[0].links
    assert f"http://testserver/mon-espace/demandes/{reference}" in receipts[0].links
    assert receipts[0].html


async def test_double_submission_files_one_request(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await make_signatory("bibus", name="Bibus")
    await log_in(client, worker, mail_sink, "camille@exemple.fr")
    form = {"kind": "access", "signatory": "bibus", "submission_key": "double-clic-0001"}
    first = reference_from(await post_form(client, "/mon-espace/demandes", form))
    second = reference_from(await post_form(client, "/mon-espace/demandes", form))
    assert first == second
    assert await RightsRequest.filter(kind=RequestKind.ACCESS).count() == 1


async def test_bad_request_forms_are_explained(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await make_signatory("bibus", name="Bibus")
    await log_in(client, worker, mail_sink, "camille@exemple.fr")
    unknown_kind = await post_form(client, "/mon-espace/demandes", {"kind": "tout-casser"})
    assert unknown_kind.status_code == 422
    assert "Type de demande inconnu" in page_text(unknown_kind)
    unknown_signatory = await post_form(
        client, "/mon-espace/demandes", {"kind": "access", "signatory": "nulle-part"}
    )
    assert unknown_signatory.status_code == 422
    assert (await client.get("/mon-espace/supprimer?signataire=nulle-part")).status_code == 404
    assert (await client.get("/mon-espace/demandes/DSK-0000-NOPE")).status_code == 404


async def test_pages_need_a_login(client: httpx.AsyncClient) -> None:
    for path in ("/mon-espace", "/mon-espace/demandes/DSK-2025-ABCD", "/mon-espace/copies/abc"):
        response = await client.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == "/connexion"


async def test_withdraw_before_an_answer_but_not_after(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await make_signatory("bibus", name="Bibus")
    await make_signatory("eau-du-ponant", name="Eau du Ponant")
    await log_in(client, worker, mail_sink, "camille@exemple.fr")
    reference = reference_from(
        await post_form(client, "/mon-espace/demandes", {"kind": "objection"})
    )
    by_slug = await deliveries_of(reference)
    await answer(app, by_slug["bibus"], "fulfil", outcome={"result": "stopped"})

    path = f"/mon-espace/demandes/{reference}/retirer"
    withdrawn = await post_form(client, path, {"delivery": str(by_slug["eau-du-ponant"].id)})
    assert withdrawn.status_code == 303
    page = page_text(await client.get(f"/mon-espace/demandes/{reference}"))
    assert "retirée" in page
    assert (await Delivery.get(id=by_slug["eau-du-ponant"].id)).state == DeliveryState.WITHDRAWN

    too_late = await post_form(client, path, {"delivery": str(by_slug["bibus"].id)})
    assert too_late.status_code == 409
    assert "ne peut plus être retirée" in page_text(too_late)


async def test_another_resident_sees_nothing_of_mine(
    app: Starlette,
    client: httpx.AsyncClient,
    other_client: httpx.AsyncClient,
    worker: Worker,
    mail_sink: MailSink,
) -> None:
    await make_signatory("bibus", name="Bibus")
    await log_in(client, worker, mail_sink, "camille@exemple.fr")
    reference = reference_from(await post_form(client, "/mon-espace/demandes", {"kind": "access"}))
    delivery = (await deliveries_of(reference))["bibus"]
    await answer(
        app, delivery, "fulfil", outcome={"holds_data": True},
        file=UploadedFile("mes-donnees.json", "application/json", b'{"abonne": true}'),
    )  # fmt: skip
    page = await client.get(f"/mon-espace/demandes/{reference}")
    copy_path = re.search(r'href="(/mon-espace/copies/[^"]+)"', page.text)
    assert copy_path

    await log_in(other_client, worker, mail_sink, "intrus@exemple.fr")
    assert (await other_client.get(f"/mon-espace/demandes/{reference}")).status_code == 404
    assert (await other_client.get(copy_path.group(1))).status_code == 404
    withdraw = await post_form(
        other_client, f"/mon-espace/demandes/{reference}/retirer", {"delivery": str(delivery.id)}
    )
    assert withdraw.status_code == 404
    # The owner's copy is untouched by those attempts.
    assert (await client.get(copy_path.group(1))).status_code == 200


async def test_a_copy_downloads_once_then_is_deleted(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await make_signatory("bibus", name="Bibus")
    await log_in(client, worker, mail_sink, "camille@exemple.fr")
    reference = reference_from(await post_form(client, "/mon-espace/demandes", {"kind": "access"}))
    delivery = (await deliveries_of(reference))["bibus"]
    content = b"date,trajet\n2025-01-02,Brest\n"
    await answer(
        app, delivery, "fulfil", outcome={"holds_data": True},
        file=UploadedFile("trajets été.csv", "text/csv", content),
    )  # fmt: skip

    await worker.run_until_idle()
    ready = [m for m in mail_sink.to("camille@exemple.fr") if "copie" in m.subject]
    assert ready
    # The mail leads to the request page, not to the one-time link a mail scanner could spend.
    assert f"http://testserver/mon-espace/demandes/{reference}" in ready[0].links
    assert not any("/mon-espace/copies/" in link for link in ready[0].links)

    page = await client.get(f"/mon-espace/demandes/{reference}")
    assert "cette copie ne se remet qu'une fois, et le lien expire le" in page_text(page)
    copy_path = re.search(r'href="(/mon-espace/copies/[^"/]+)"', page.text)
    assert copy_path

    # A link preview's HEAD must not spend the only download.
    probe = await client.head(copy_path.group(1))
    assert probe.status_code == 405
    download = await client.get(copy_path.group(1))
    assert download.status_code == 200
    assert download.content == content
    assert download.headers["content-type"].startswith("text/csv")
    assert download.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''trajets%20%C3%A9t%C3%A9.csv" in download.headers["content-disposition"]
    assert download.headers["x-content-type-options"] == "nosniff"

    # An interrupted download is taken again from the same browser, for a short while
    # (tests/desk/residents/test_copies.py: other browsers, the window's end).
    again = await client.get(copy_path.group(1))
    assert again.status_code == 200 and again.content == content
    assert "rouvrir ou la télécharger à nouveau jusqu'à" in page_text(
        await client.get(f"/mon-espace/demandes/{reference}")
    )
    await AccessCopy.filter(delivery_id=delivery.id).update(
        downloaded_at=clock.now() - timedelta(minutes=16)
    )
    late = await client.get(copy_path.group(1))
    assert late.status_code == 410
    assert "il y a plus de 15 minutes" in page_text(late)
    after = page_text(await client.get(f"/mon-espace/demandes/{reference}"))
    assert "puis effacée de nos serveurs" in after
    assert "/mon-espace/copies/" not in after
    assert (await AccessCopy.get(delivery_id=delivery.id)).content is None


async def test_an_expired_copy_is_gone_and_purged(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await make_signatory("bibus", name="Bibus")
    await log_in(client, worker, mail_sink, "camille@exemple.fr")
    reference = reference_from(await post_form(client, "/mon-espace/demandes", {"kind": "access"}))
    delivery = (await deliveries_of(reference))["bibus"]
    await answer(
        app,
        delivery,
        "fulfil",
        outcome={"holds_data": True},
        file=UploadedFile("copie.pdf", "application/pdf", b"%PDF-1.4 test"),
        download_max_age=0,
    )
    copy = await AccessCopy.get(delivery_id=delivery.id)
    page = page_text(await client.get(f"/mon-espace/demandes/{reference}"))
    assert "Le lien de téléchargement a expiré" in page
    assert (await client.get(f"/mon-espace/copies/{copy.id}")).status_code == 410

    await AccessCopy.filter(id=copy.id).update(deleted_at=None, content=b"%PDF-1.4 test")
    assert await purge_expired(now=clock.now()) == (0, 1)
    purged = await AccessCopy.get(id=copy.id)
    assert purged.content is None and purged.deleted_at is not None
