from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette
from tortoise.backends.base.executor import EXECUTOR_CACHE

from desk.app import create_app
from desk.mail.sink import MailSink
from desk.outbox.models import OutboxJob
from desk.outbox.worker import Worker
from desk.partners import api
from desk.partners.deliveries import PREFIX, decode_cursor, encode_cursor
from desk.partners.notify import notify_info_answered
from desk.receipts.models import Receipt
from desk.registry.models import Signatory
from desk.requests.models import AccessCopy, Delivery, DeliveryEvent, RequestKind
from desk.requests.services import file_request
from desk.settings import Settings
from tests.desk.residents.helpers import log_in, page_text, post_form
from tests.factories import make_resident, make_signatory
from tests.helpers import partner_bearer

EMAIL = "camille@exemple.invalid"
UPLOAD_MAX = 64 * 1024


@pytest.fixture
async def app(settings: Settings, mail_sink: MailSink) -> AsyncIterator[Starlette]:
    EXECUTOR_CACHE.clear()
    application = create_app(replace(settings, upload_max_bytes=UPLOAD_MAX), mail_sink=mail_sink)
    paths = {getattr(route, "path", None) for route in application.router.routes}
    if PREFIX not in paths:  # until desk/app.py mounts the partner API
        application.router.routes.extend(api.routes)
    async with LifespanManager(application):
        yield application


async def _bearer(client: httpx.AsyncClient, slug: str) -> dict[str, str]:
    return await partner_bearer(client, slug)


async def _setup(worker: Worker, *kinds: RequestKind) -> tuple[Signatory, Signatory, list[int]]:
    """Two signatories, one request per kind to both; returns the first one's delivery ids."""
    mine = await make_signatory("eau-du-ponant", name="Eau du Ponant")
    other = await make_signatory("bibus", name="Bibus")
    resident = await make_resident(EMAIL)
    for kind in kinds:
        await file_request(resident_id=resident.id, kind=kind)
    await worker.run_until_idle()
    deliveries = await Delivery.filter(signatory_id=mine.id).order_by("id")
    return mine, other, [d.id for d in deliveries]


def _url(delivery_id: int, action: str = "") -> str:
    return f"/api/v1/deliveries/{delivery_id}" + (f"/{action}" if action else "")


def _is_problem(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    detail: str = response.json()["detail"]
    return detail


async def test_inbox_lists_only_my_deliveries_filters_and_pages(
    client: httpx.AsyncClient, worker: Worker
) -> None:
    _, _, mine = await _setup(
        worker, RequestKind.ERASURE, RequestKind.ACCESS, RequestKind.DISCOVERY
    )
    auth = await _bearer(client, "eau-du-ponant")

    everything = await client.get("/api/v1/deliveries", headers=auth)
    assert everything.status_code == 200
    assert everything.headers["cache-control"] == "no-store"
    body = everything.json()
    assert [item["id"] for item in body["items"]] == mine
    assert body["next_cursor"] is None
    assert {item["state"] for item in body["items"]} == {"sent"}
    assert all(item["due_at"].endswith("Z") for item in body["items"])

    erasure = (await client.get("/api/v1/deliveries?kind=erasure", headers=auth)).json()
    assert [item["kind"] for item in erasure["items"]] == ["erasure"]
    none_done = (await client.get("/api/v1/deliveries?state=fulfilled", headers=auth)).json()
    assert none_done["items"] == []

    first = (await client.get("/api/v1/deliveries?limit=2", headers=auth)).json()
    assert [item["id"] for item in first["items"]] == mine[:2]
    assert first["next_cursor"]
    second = (
        await client.get(
            "/api/v1/deliveries", params={"limit": 2, "cursor": first["next_cursor"]}, headers=auth
        )
    ).json()
    assert [item["id"] for item in second["items"]] == mine[2:]
    assert second["next_cursor"] is None

    for query in ("state=lost", "kind=everything", "limit=0", "limit=101", "limit=abc"):
        detail = _is_problem(await client.get(f"/api/v1/deliveries?{query}", headers=auth), 400)
        assert "paramètre" in detail
    bad_cursor = await client.get("/api/v1/deliveries?cursor=%%%", headers=auth)
    assert "cursor" in _is_problem(bad_cursor, 400)
    assert "Jeton" in _is_problem(await client.get("/api/v1/deliveries"), 401)


async def test_a_delivery_shows_only_the_identifiers_the_signatory_accepts(
    client: httpx.AsyncClient, worker: Worker
) -> None:
    mine, other, ids = await _setup(worker, RequestKind.ERASURE)
    mine.accepted_identifiers = ["customer_number"]
    await mine.save()
    auth = await _bearer(client, "eau-du-ponant")
    other_auth = await _bearer(client, "bibus")
    other_id = (await Delivery.get(signatory_id=other.id)).id

    response = await client.get(_url(ids[0]), headers=auth)
    assert response.status_code == 200
    delivery = response.json()
    assert delivery["identifiers"] == {}
    assert EMAIL not in response.text
    assert delivery["kind"] == "erasure" and delivery["state"] == "sent"
    assert delivery["identity_assurance"] == "email_verified"
    assert delivery["received_at"].endswith("Z") and delivery["due_at"].endswith("Z")
    assert [h["action"] for h in delivery["history"]] == ["file", "send"]
    assert "/partenaires/reponse/" in delivery["answer_url"]

    theirs = (await client.get(_url(other_id), headers=other_auth)).json()
    assert theirs["identifiers"] == {"email": EMAIL}


async def test_another_signatorys_delivery_is_not_found(
    client: httpx.AsyncClient, worker: Worker
) -> None:
    _, other, _ = await _setup(worker, RequestKind.ERASURE)
    auth = await _bearer(client, "eau-du-ponant")
    theirs = (await Delivery.get(signatory_id=other.id)).id

    read = await client.get(_url(theirs), headers=auth)
    unknown = await client.get(_url(999_999), headers=auth)
    assert _is_problem(read, 404) == _is_problem(unknown, 404)
    _is_problem(await client.post(_url(theirs, "acknowledge"), headers=auth), 404)
    _is_problem(await client.get(_url(0), headers=auth), 404)
    _is_problem(await client.get("/api/v1/deliveries/99999999999999999999", headers=auth), 404)
    assert (await Delivery.get(id=theirs)).state == "sent"


async def test_acknowledge_then_extend_once(client: httpx.AsyncClient, worker: Worker) -> None:
    _, _, (delivery_id,) = await _setup(worker, RequestKind.ERASURE)
    auth = await _bearer(client, "eau-du-ponant")

    acknowledged = await client.post(_url(delivery_id, "acknowledge"), headers=auth)
    assert acknowledged.status_code == 200
    assert acknowledged.json()["state"] == "acknowledged"
    before = acknowledged.json()["due_at"]

    extended = await client.post(
        _url(delivery_id, "extend"),
        json={"reason": "Archives papier à consulter.", "extra_months": 2},
        headers=auth,
    )
    assert extended.status_code == 200
    body = extended.json()
    assert body["state"] == "extended"
    assert body["extension_reason"] == "Archives papier à consulter."
    assert body["due_at"] > before
    assert body["history"][-1]["action"] == "extend"
    assert body["history"][-1]["actor"].startswith("partner:eau-du-ponant")

    again = await client.post(
        _url(delivery_id, "extend"), json={"reason": "Encore.", "extra_months": 1}, headers=auth
    )
    assert "prolongé" in _is_problem(again, 409)
    three = await client.post(
        _url(delivery_id, "extend"), json={"reason": "x", "extra_months": 3}, headers=auth
    )
    assert "extra_months" in _is_problem(three, 422)


async def test_fulfilled_erasure_gets_a_receipt_and_later_answers_change_nothing(
    client: httpx.AsyncClient, worker: Worker
) -> None:
    _, _, (delivery_id,) = await _setup(worker, RequestKind.ERASURE)
    auth = await _bearer(client, "eau-du-ponant")
    outcome = {
        "result": "partial",
        "erased_categories": ["coordonnées"],
        "kept": [
            {"category": "factures", "legal_basis": "Code de commerce", "retention": "10 ans"}
        ],
        "recipients_notified": ["Trésor public"],
    }

    done = await client.post(_url(delivery_id, "fulfil"), json={"outcome": outcome}, headers=auth)
    assert done.status_code == 200
    assert done.json()["state"] == "fulfilled"
    assert done.json()["outcome"]["kept"][0]["category"] == "factures"
    assert await Receipt.filter(delivery_id=delivery_id).count() == 1
    events = await DeliveryEvent.filter(delivery_id=delivery_id).count()

    for action, body in (
        ("deny", {"reason": "no_match"}),
        ("fulfil", {"outcome": {"result": "erased"}}),
        ("acknowledge", {}),
        ("extend", {"reason": "Trop tard.", "extra_months": 1}),
        ("need-info", {"message": "Votre numéro de client ?"}),
    ):
        late = await client.post(_url(delivery_id, action), json=body, headers=auth)
        assert "définitive" in _is_problem(late, 409)
    delivery = await Delivery.get(id=delivery_id)
    assert delivery.state == "fulfilled" and delivery.denial_reason is None
    assert await DeliveryEvent.filter(delivery_id=delivery_id).count() == events
    assert await Receipt.filter(delivery_id=delivery_id).count() == 1


async def test_bad_bodies_are_refused_in_french(client: httpx.AsyncClient, worker: Worker) -> None:
    _, _, (delivery_id,) = await _setup(worker, RequestKind.ERASURE)
    auth = await _bearer(client, "eau-du-ponant")
    url = _url(delivery_id, "deny")

    malformed = await client.post(
        url, content=b"{not json", headers={**auth, "Content-Type": "application/json"}
    )
    assert "JSON" in _is_problem(malformed, 400)
    as_text = await client.post(
        url, content=b"reason=no_match", headers={**auth, "Content-Type": "text/plain"}
    )
    assert "Content-Type" in _is_problem(as_text, 415)
    missing = await client.post(url, json={}, headers=auth)
    assert "« reason » est obligatoire" in _is_problem(missing, 422)
    other = await client.post(url, json={"reason": "other"}, headers=auth)
    assert "Expliquez" in _is_problem(other, 422)
    not_object = await client.post(url, json=["no_match"], headers=auth)
    _is_problem(not_object, 422)
    huge = await client.post(url, json={"reason": "other", "detail": "x" * 70_000}, headers=auth)
    _is_problem(huge, 413)
    assert (await Delivery.get(id=delivery_id)).state == "sent"

    denied = await client.post(
        url, json={"reason": "other", "detail": "Contrat résilié en 2019."}, headers=auth
    )
    assert denied.status_code == 200
    assert denied.json()["denial_reason"] == "other"
    assert denied.json()["denial_detail"] == "Contrat résilié en 2019."


async def test_access_copy_upload_with_its_limits(
    client: httpx.AsyncClient, worker: Worker
) -> None:
    _, _, (delivery_id,) = await _setup(worker, RequestKind.ACCESS)
    auth = await _bearer(client, "eau-du-ponant")
    url = _url(delivery_id, "fulfil")
    outcome = {"outcome": json.dumps({"holds_data": True, "note": "Export du 3 mars."})}

    too_big = await client.post(
        url,
        data=outcome,
        files={"copy": ("export.csv", b"a;b\n" * (UPLOAD_MAX // 4 + 10), "text/csv")},
        headers=auth,
    )
    assert "trop volumineux" in _is_problem(too_big, 413)
    far_too_big = await client.post(
        url,
        data=outcome,
        files={"copy": ("export.csv", b"a;b\n" * UPLOAD_MAX * 2, "text/csv")},
        headers=auth,
    )
    _is_problem(far_too_big, 413)
    wrong_type = await client.post(
        url,
        data=outcome,
        files={"copy": ("export.exe", b"MZ\x90\x00", "application/octet-stream")},
        headers=auth,
    )
    assert "type de fichier" in _is_problem(wrong_type, 415)
    no_file = await client.post(url, json={"outcome": {"holds_data": True}}, headers=auth)
    assert "Joignez" in _is_problem(no_file, 422)
    assert await AccessCopy.filter(delivery_id=delivery_id).count() == 0

    done = await client.post(
        url,
        data=outcome,
        files={"copy": ("export.json", b'{"abonne": "Camille"}', "application/json")},
        headers=auth,
    )
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "fulfilled"
    (copy,) = await AccessCopy.filter(delivery_id=delivery_id)
    assert copy.filename == "export.json" and copy.content == b'{"abonne": "Camille"}'


async def test_idempotency_key_replays_the_first_answer(
    client: httpx.AsyncClient, worker: Worker
) -> None:
    _, _, (delivery_id,) = await _setup(worker, RequestKind.ERASURE)
    auth = await _bearer(client, "eau-du-ponant")
    keyed = {**auth, "Idempotency-Key": "ack-1"}

    first = await client.post(_url(delivery_id, "acknowledge"), json={}, headers=keyed)
    second = await client.post(_url(delivery_id, "acknowledge"), json={}, headers=keyed)
    assert first.status_code == second.status_code == 200
    assert second.content == first.content
    assert second.headers["idempotent-replayed"] == "true"
    assert await DeliveryEvent.filter(delivery_id=delivery_id, action="acknowledge").count() == 1

    reused = await client.post(
        _url(delivery_id, "extend"), json={"reason": "x", "extra_months": 1}, headers=keyed
    )
    assert "Idempotency-Key" in _is_problem(reused, 422)
    assert (await Delivery.get(id=delivery_id)).state == "acknowledged"


async def test_need_info_round_trip_through_the_resident(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink, app: Starlette
) -> None:
    mine, _, (delivery_id,) = await _setup(worker, RequestKind.ERASURE)
    auth = await _bearer(client, "eau-du-ponant")
    await client.post(_url(delivery_id, "acknowledge"), headers=auth)
    question = "Quel est votre numéro de contrat d'eau ?"

    asked = await client.post(
        _url(delivery_id, "need-info"), json={"message": question}, headers=auth
    )
    assert asked.status_code == 200
    assert asked.json()["state"] == "awaiting_info"
    assert asked.json()["info_request"] == question
    twice = await client.post(_url(delivery_id, "need-info"), json={"message": "?"}, headers=auth)
    _is_problem(twice, 409)

    mail_sink.clear()
    await worker.run_until_idle()
    (mail,) = [m for m in mail_sink.to(EMAIL) if "question" in m.subject]
    assert "Eau du Ponant" in mail.subject
    reference = asked.json()["request_reference"]
    assert any(link.endswith(f"/mon-espace/demandes/{reference}") for link in mail.links)

    await log_in(client, worker, mail_sink, EMAIL)
    page = await client.get(f"/mon-espace/demandes/{reference}")
    assert page.status_code == 200
    text = page_text(page)
    assert question in text
    assert "en attente de votre réponse" in text
    assert 'name="answer"' in text

    answered = await post_form(
        client,
        f"/mon-espace/demandes/{reference}/repondre",
        {"delivery": str(delivery_id), "answer": "Contrat 42-1789."},
    )
    assert answered.status_code == 303
    after = await client.get(_url(delivery_id), headers=auth)
    assert after.json()["state"] == "acknowledged"
    assert after.json()["info_answer"] == "Contrat 42-1789."

    (job,) = await OutboxJob.filter(kind="partner.info_answered")
    mail_sink.clear()
    await notify_info_answered(job, app.state.runtime)
    (dpo_mail,) = mail_sink.to(mine.dpo_email)
    assert reference in dpo_mail.subject
    assert "Contrat 42-1789." in dpo_mail.text and question in dpo_mail.text
    assert any("/partenaires/reponse/" in link for link in dpo_mail.links)


async def test_partners_outside_email_are_not_mailed_the_answer(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink, app: Starlette
) -> None:
    mine, _, (delivery_id,) = await _setup(worker, RequestKind.ERASURE)
    auth = await _bearer(client, "eau-du-ponant")
    await client.post(_url(delivery_id, "need-info"), json={"message": "Contrat ?"}, headers=auth)
    delivery = await Delivery.get(id=delivery_id)
    delivery.info_answer = "Contrat 7."
    delivery.channel = "webhook"
    await delivery.save()
    job = await OutboxJob.create(
        kind="partner.info_answered",
        payload={"delivery_id": delivery_id},
        idempotency_key="info-answered-test",
        run_after=delivery.received_at,
    )
    mail_sink.clear()
    await notify_info_answered(job, app.state.runtime)
    assert mail_sink.to(mine.dpo_email) == []


def test_cursors_are_opaque_and_checked() -> None:
    assert decode_cursor(encode_cursor(1234)) == 1234
    for bad in ("", "!!", base64.urlsafe_b64encode(b"-1").decode(), "A" * 40):
        with pytest.raises(ValueError):
            decode_cursor(bad)
