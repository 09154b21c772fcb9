from __future__ import annotations

import html
import json
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
from asgi_lifespan import LifespanManager
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from desk.app import create_app
from desk.core import clock
from desk.jobs import build_worker
from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.receipts.models import Receipt
from desk.requests.links import SALT
from desk.requests.models import AccessCopy, Delivery, DeliveryEvent, DeliveryState, RequestKind
from desk.requests.services import file_request
from desk.settings import Settings
from tests.factories import make_resident, make_signatory
from tests.helpers import csrf_token

EMAIL = "camille@exemple.invalid"


async def _answer_link(worker: Worker, mail_sink: MailSink, kind: RequestKind) -> tuple[str, int]:
    """File a request to an email signatory, let the worker mail its DPO: (path, delivery id)."""
    signatory = await make_signatory("eau-du-ponant", name="Eau du Ponant")
    resident = await make_resident(EMAIL)
    request = await file_request(resident_id=resident.id, kind=kind)
    await worker.run_until_idle()
    (mail,) = mail_sink.to(signatory.dpo_email)
    (link,) = [link for link in mail.links if "/partenaires/reponse/" in link]
    delivery = await Delivery.get(request_id=request.id)
    return link.removeprefix("http://testserver"), delivery.id


async def _post(
    client: httpx.AsyncClient, path: str, data: dict[str, str], *, token_from: str | None = None
) -> httpx.Response:
    token = await csrf_token(client, token_from or path)
    return await client.post(path, data={"csrftoken": token, **data})


async def test_the_link_opens_a_french_page_with_the_request_and_its_forms(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    path, delivery_id = await _answer_link(worker, mail_sink, RequestKind.ERASURE)
    delivery = await Delivery.get(id=delivery_id).select_related("request")

    page = await client.get(path)

    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    text = page.text
    assert '<html lang="fr">' in text
    assert "Eau du Ponant" in text
    assert delivery.request.reference in text
    assert EMAIL in text
    assert "Effacer ses données" in text
    assert "articles 17 et 19 du RGPD" in text
    assert "Envoyée : en attente de votre accusé de réception" in text
    assert "Demande déposée par la personne" in text  # history
    assert "Demande envoyée à votre organisme" in text
    for action in ("acknowledge", "extend", "fulfil", "deny"):
        assert f'name="action" value="{action}"' in text
    assert 'name="kept_category_3"' in text  # at least three rows of kept data
    assert "Trésor public" in text  # the declared recipients, as a hint for Art. 19


async def test_acknowledge_then_twice_is_refused(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    path, delivery_id = await _answer_link(worker, mail_sink, RequestKind.ERASURE)

    done = await _post(client, path, {"action": "acknowledge"})
    assert done.status_code == 303
    assert done.headers["location"] == f"{path}?ok=acknowledge"
    shown = await client.get(done.headers["location"])
    assert "la réception de la demande est confirmée" in shown.text
    assert "Réception confirmée : réponse attendue" in shown.text
    assert (await Delivery.get(id=delivery_id)).state == DeliveryState.ACKNOWLEDGED

    again = await _post(client, path, {"action": "acknowledge"})
    assert again.status_code == 409
    assert "déjà confirmée" in html.unescape(again.text)
    assert await DeliveryEvent.filter(delivery_id=delivery_id, action="acknowledge").count() == 1


async def test_extend_once_with_a_reason_and_not_twice(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    path, delivery_id = await _answer_link(worker, mail_sink, RequestKind.ACCESS)

    missing = await _post(client, path, {"action": "extend", "reason": "  ", "extra_months": "2"})
    assert missing.status_code == 422
    assert "Indiquez la raison" in missing.text

    done = await _post(
        client, path, {"action": "extend", "reason": "Archives à consulter", "extra_months": "2"}
    )
    assert done.status_code == 303
    delivery = await Delivery.get(id=delivery_id)
    assert delivery.state == DeliveryState.EXTENDED
    assert delivery.due_at == clock.add_months(delivery.received_at, 3)
    shown = await client.get(done.headers["location"])
    assert "le délai est prolongé" in shown.text
    assert "Archives à consulter" in shown.text  # in the history
    assert 'value="extend"' not in shown.text  # the form is gone

    again = await _post(client, path, {"action": "extend", "reason": "Encore", "extra_months": "1"})
    assert again.status_code == 409
    assert "une seule prolongation" in html.unescape(again.text)
    assert (await Delivery.get(id=delivery_id)).due_at == delivery.due_at


async def test_partial_erasure_fulfils_with_a_receipt_and_a_second_answer_is_refused(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    path, delivery_id = await _answer_link(worker, mail_sink, RequestKind.ERASURE)
    form = {
        "action": "fulfil",
        "result": "partial",
        "erased_categories": "coordonnées, consommation",
        "kept_category_1": "factures",
        "kept_basis_1": "Article L123-22 du code de commerce",
        "kept_retention_1": "10 ans",
        "kept_category_2": "",
        "recipients_notified": "Trésor public",
    }

    incomplete = await _post(client, path, {**form, "kept_basis_1": ""})
    assert incomplete.status_code == 422
    assert "raison légale" in html.unescape(incomplete.text)
    assert "Votre réponse n'a pas été enregistrée" in html.unescape(incomplete.text)
    assert (await Delivery.get(id=delivery_id)).state == DeliveryState.SENT

    done = await _post(client, path, form)
    assert done.status_code == 303
    delivery = await Delivery.get(id=delivery_id)
    assert delivery.state == DeliveryState.FULFILLED
    assert delivery.outcome is not None
    assert delivery.outcome["result"] == "partial"
    assert delivery.outcome["erased_categories"] == ["coordonnées", "consommation"]
    assert delivery.outcome["kept"] == [
        {
            "category": "factures",
            "legal_basis": "Article L123-22 du code de commerce",
            "retention": "10 ans",
        }
    ]
    assert delivery.outcome["recipients_notified"] == ["Trésor public"]
    assert await Receipt.filter(delivery_id=delivery_id).exists()
    event = await DeliveryEvent.get(delivery_id=delivery_id, action="fulfil")
    assert event.actor == "partner:email-link"

    closed = await client.get(path)
    assert "Cette demande est close" in closed.text
    assert 'name="action"' not in closed.text

    twice = await _post(client, path, {**form, "result": "erased"})
    assert twice.status_code == 409
    assert "déjà reçu une réponse définitive" in twice.text
    assert (await Delivery.get(id=delivery_id)).outcome == delivery.outcome
    assert await Receipt.filter(delivery_id=delivery_id).count() == 1


async def test_access_fulfilled_with_a_json_upload(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    path, delivery_id = await _answer_link(worker, mail_sink, RequestKind.ACCESS)
    token = await csrf_token(client, path)
    content = json.dumps({"abonné": {"email": EMAIL, "consommation_m3": 42}}).encode()

    done = await client.post(
        path,
        data={
            "csrftoken": token,
            "action": "fulfil",
            "holds_data": "yes",
            "note": "Voici vos données.",
        },
        files={"copy": ("export.json", content, "application/json")},
    )

    assert done.status_code == 303
    delivery = await Delivery.get(id=delivery_id)
    assert delivery.state == DeliveryState.FULFILLED
    copy = await AccessCopy.get(delivery_id=delivery_id)
    assert copy.content == content
    assert copy.content_type == "application/json"
    assert copy.filename == "export.json"


async def test_access_without_file_or_answer_is_explained(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    path, delivery_id = await _answer_link(worker, mail_sink, RequestKind.ACCESS)
    token = await csrf_token(client, path)

    empty = await client.post(
        path,
        data={"csrftoken": token, "action": "fulfil", "holds_data": "yes"},
        files={"copy": ("", b"", "application/octet-stream")},  # a file input left empty
    )
    assert empty.status_code == 422
    assert "Joignez la copie" in empty.text

    nothing = await _post(client, path, {"action": "fulfil", "holds_data": "no"})
    assert nothing.status_code == 303
    delivery = await Delivery.get(id=delivery_id)
    assert delivery.outcome is not None and delivery.outcome["holds_data"] is False
    assert not await AccessCopy.filter(delivery_id=delivery_id).exists()


async def test_wrong_file_types_are_refused_with_415(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    path, delivery_id = await _answer_link(worker, mail_sink, RequestKind.ACCESS)
    token = await csrf_token(client, path)
    wrong = [
        ("export.exe", b"MZ\x90\x00", "application/octet-stream"),  # wrong extension
        ("export.json", b'{"a": 1}', "application/pdf"),  # type does not match the extension
        ("export.json", b"not json at all", "application/json"),  # does not parse
        ("export.pdf", b"<html>a web page</html>", "application/pdf"),  # not a PDF
    ]
    for filename, content, content_type in wrong:
        response = await client.post(
            path,
            data={"csrftoken": token, "action": "fulfil", "holds_data": "yes"},
            files={"copy": (filename, content, content_type)},
        )
        assert response.status_code == 415, filename
        assert "Votre réponse n'a pas été enregistrée" in html.unescape(response.text)
    assert (await Delivery.get(id=delivery_id)).state == DeliveryState.SENT
    assert not await AccessCopy.filter(delivery_id=delivery_id).exists()

    pdf = await client.post(
        path,
        data={"csrftoken": token, "action": "fulfil", "holds_data": "yes"},
        files={"copy": ("export.pdf", b"%PDF-1.7\n%fake but well started\n", "application/pdf")},
    )
    assert pdf.status_code == 303


async def test_oversize_uploads_are_refused_with_413(
    settings: Settings, mail_sink: MailSink
) -> None:
    # An app of its own, with a 1000-byte upload limit (so no `app` fixture: one database context).
    app = create_app(replace(settings, upload_max_bytes=1000), mail_sink=mail_sink)
    async with LifespanManager(app):
        path, delivery_id = await _answer_link(
            build_worker(app.state.runtime), mail_sink, RequestKind.ACCESS
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            token = await csrf_token(client, path)
            form = {"csrftoken": token, "action": "fulfil", "holds_data": "yes"}
            big = json.dumps({"data": "x" * 2000}).encode()

            over = await client.post(
                path, data=form, files={"copy": ("export.json", big, "application/json")}
            )
            assert over.status_code == 413
            assert "trop volumineux" in over.text
            assert "1000 octets" in over.text

            # A body whose Content-Length is past the limit is refused without being read.
            huge = json.dumps({"data": "x" * 400_000}).encode()
            declared = await client.post(
                path, data=form, files={"copy": ("export.json", huge, "application/json")}
            )
            assert declared.status_code == 413

            # Streamed without a Content-Length: stopped as it grows past the limit.
            boundary = "limite-du-guichet"
            part = f"--{boundary}\r\nContent-Disposition: form-data; name="
            head = (
                f'{part}"csrftoken"\r\n\r\n{token}\r\n'
                f'{part}"action"\r\n\r\nfulfil\r\n'
                f'{part}"copy"; filename="export.json"\r\n'
                "Content-Type: application/json\r\n\r\n"
            ).encode()

            async def chunks() -> AsyncIterator[bytes]:
                yield head
                for _ in range(100):
                    yield b"x" * 10_000
                yield f"\r\n--{boundary}--\r\n".encode()

            streamed = await client.post(
                path,
                content=chunks(),
                headers={"content-type": f"multipart/form-data; boundary={boundary}"},
            )
            assert "content-length" not in streamed.request.headers
            assert streamed.status_code == 413

        assert (await Delivery.get(id=delivery_id)).state == DeliveryState.SENT
        assert not await AccessCopy.filter(delivery_id=delivery_id).exists()


async def test_discovery_answer_names_declarations(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    path, delivery_id = await _answer_link(worker, mail_sink, RequestKind.DISCOVERY)
    page = await client.get(path)
    assert 'name="declarations" value="traitement-1"' in page.text

    done = await _post(
        client,
        path,
        {
            "action": "fulfil",
            "holds_data": "yes",
            "declarations": "traitement-1",
            "categories": "identité",
        },
    )
    assert done.status_code == 303
    delivery = await Delivery.get(id=delivery_id)
    assert delivery.outcome is not None
    assert delivery.outcome["declarations"] == ["traitement-1"]
    assert delivery.outcome["categories"] == ["identité"]


async def test_deny_with_a_reason(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    path, delivery_id = await _answer_link(worker, mail_sink, RequestKind.OBJECTION)

    vague = await _post(client, path, {"action": "deny", "reason": "other", "detail": ""})
    assert vague.status_code == 422
    assert "Expliquez le motif" in vague.text

    done = await _post(
        client, path, {"action": "deny", "reason": "no_match", "detail": "Aucun abonné à ce nom."}
    )
    assert done.status_code == 303
    delivery = await Delivery.get(id=delivery_id)
    assert delivery.state == DeliveryState.DENIED
    assert delivery.denial_reason == "no_match"
    assert await Receipt.filter(delivery_id=delivery_id).exists()
    shown = await client.get(path)
    assert "Personne introuvable" in shown.text


async def test_unknown_action_is_422(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    path, delivery_id = await _answer_link(worker, mail_sink, RequestKind.ERASURE)
    response = await _post(client, path, {"action": "withdraw"})
    assert response.status_code == 422
    assert "Action inconnue" in response.text
    assert (await Delivery.get(id=delivery_id)).state == DeliveryState.SENT


async def test_forged_and_expired_links(
    client: httpx.AsyncClient, settings: Settings, worker: Worker, mail_sink: MailSink
) -> None:
    path, delivery_id = await _answer_link(worker, mail_sink, RequestKind.ERASURE)

    forged = await client.get(path[:-3] + ("aaa" if not path.endswith("aaa") else "bbb"))
    assert forged.status_code == 404
    assert "Lien invalide" in forged.text

    other_secret = URLSafeTimedSerializer("not-our-secret", salt=SALT).dumps(
        {"d": delivery_id, "s": 1}
    )
    assert (await client.get(f"/partenaires/reponse/{other_secret}")).status_code == 404

    class OldSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - settings.answer_link_max_age - 60

    delivery = await Delivery.get(id=delivery_id)
    old = URLSafeTimedSerializer(settings.secret_key, salt=SALT, signer=OldSigner).dumps(
        {"d": delivery_id, "s": delivery.signatory_id}  # type: ignore[attr-defined]
    )
    expired = await client.get(f"/partenaires/reponse/{old}")
    assert expired.status_code == 410
    assert "Lien expiré" in expired.text
    assert "nouveau lien" in expired.text
    posted = await _post(
        client, f"/partenaires/reponse/{old}", {"action": "acknowledge"}, token_from=path
    )
    assert posted.status_code == 410
    assert (await Delivery.get(id=delivery_id)).state == DeliveryState.SENT


async def test_a_link_for_another_signatory_is_404(
    client: httpx.AsyncClient, settings: Settings, worker: Worker, mail_sink: MailSink
) -> None:
    real, delivery_id = await _answer_link(worker, mail_sink, RequestKind.ERASURE)
    other = await make_signatory("bibus")
    from desk.requests.links import answer_path, answer_token

    path = answer_path(
        answer_token(settings.secret_key, delivery_id=delivery_id, signatory_id=other.id)
    )
    assert (await client.get(path)).status_code == 404
    assert (
        await _post(client, path, {"action": "acknowledge"}, token_from=real)
    ).status_code == 404


async def test_post_without_csrf_token_is_403(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    path, delivery_id = await _answer_link(worker, mail_sink, RequestKind.ERASURE)
    await client.get(path)

    response = await client.post(path, data={"action": "acknowledge"})

    assert response.status_code == 403
    assert (await Delivery.get(id=delivery_id)).state == DeliveryState.SENT
