"""Every value a request carries is bounded and checked before the ORM: a clear French 422 (a
problem+json for machines), never a 500; ids are ASCII digits; every free-text field has
a documented maximum, enforced, and shown on its form (desk.web.limits)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
from starlette.applications import Starlette

from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.requests import transitions
from desk.requests.models import Delivery, DeliveryState, RequestKind
from desk.requests.services import file_request
from desk.web.limits import FREE_TEXT, max_chars
from tests.desk.residents.helpers import log_in, page_text, post_form
from tests.factories import make_resident, make_signatory
from tests.helpers import partner_bearer

ROOT = Path(__file__).resolve().parents[2]
EMAIL = "gwen.bounds@exemple.invalid"
NNBSP = "\u202f"


async def _submission_key(client: httpx.AsyncClient) -> str:
    page = await client.get("/mon-espace")
    found = re.search(r'name="submission_key" value="([^"]+)"', page.text)
    assert found
    return found.group(1)


async def test_a_signatory_longer_than_its_column_is_a_clear_422_not_a_500(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await make_signatory("eau-du-ponant")
    await log_in(client, worker, mail_sink, EMAIL)
    for length in (65, 200, 30_000, 200_000):
        started = time.process_time()
        response = await post_form(
            client,
            "/mon-espace/demandes",
            {
                "kind": "access",
                "signatory": "x" * length,
                "submission_key": await _submission_key(client),
            },
        )
        assert response.status_code == 422, length
        assert response.headers["content-type"].startswith("text/html")
        text = page_text(response)
        assert "trop long" in text, length  # by the guard, or by the ORM's own length check
        # CPU seconds, not wall time: a loaded box makes the answer late, not the work long.
        assert time.process_time() - started < 2, length
    # Nothing was filed, and the service still answers.
    assert not await Delivery.all().count()
    assert (await client.get("/healthz")).status_code == 200


async def _asked(app: Starlette, worker: Worker) -> Delivery:
    await make_signatory("habitat-brest", name="Habitat Brest")
    resident = await make_resident(EMAIL)
    request = await file_request(resident_id=resident.id, kind=RequestKind.ACCESS)
    await worker.run_until_idle()
    delivery = await Delivery.get(request_id=request.id).select_related("request")
    await transitions.need_info(
        delivery_id=delivery.id,
        actor="partner:test",
        question="Quelle est l'adresse de votre logement ?",
    )
    return delivery


async def test_the_need_info_answer_has_a_maximum_shown_and_enforced(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    delivery = await _asked(app, worker)
    reference = delivery.request.reference
    await log_in(client, worker, mail_sink, EMAIL)
    page = page_text(await client.get(f"/mon-espace/demandes/{reference}"))
    limit = max_chars("answer")
    assert f'name="answer" maxlength="{limit}"' in page
    assert f"4{NNBSP}000 caractères au plus." in page

    path = f"/mon-espace/demandes/{reference}/repondre"
    for length in (limit + 1, 250_000):
        refused = await post_form(
            client, path, {"delivery": str(delivery.id), "answer": "a" * length}
        )
        assert refused.status_code == 422, length
        assert f"« answer » est trop long : 4{NNBSP}000 caractères au plus" in page_text(refused)
    assert (await Delivery.get(id=delivery.id)).state == DeliveryState.AWAITING_INFO

    done = await post_form(client, path, {"delivery": str(delivery.id), "answer": "a" * limit})
    assert done.status_code == 303


def test_every_free_text_field_of_every_form_shows_its_maximum() -> None:
    """Each textarea (and each free-text input) takes its maxlength from desk.web.limits, and
    its label says the maximum; no field name is left to the short default by mistake."""
    pages = [p for p in (ROOT / "templates").rglob("*.html") if "email" not in p.parts]
    seen: set[str] = set()
    for page in pages:
        text = page.read_text("utf-8")
        for tag in re.finditer(r"<textarea\b[^>]*>", text):
            name = re.search(r'name="([^"]+)"', tag.group(0))
            assert name, f"{page}: a textarea without a name"
            assert f"maxlength=\"{{{{ max_chars('{name.group(1)}') }}}}\"" in tag.group(0), (
                f"{page.relative_to(ROOT)}: {name.group(1)} has no maxlength from max_chars"
            )
            assert name.group(1) in FREE_TEXT, name.group(1)
            seen.add(name.group(1))
            ident = re.search(r'id="([^"]+)"', tag.group(0))
            assert ident
            label = re.search(
                rf'<label for="{re.escape(ident.group(1))}">(.*?)</label>', text, re.S
            )
            assert label and "caractères au plus" in label.group(1), f"{page}: {ident.group(1)}"
    assert {"answer", "reason", "detail", "note", "text", "reasoning", "jws"} <= seen


async def test_ids_in_addresses_and_forms_are_ascii_digits(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    x = await make_signatory("eau-du-ponant")
    resident = await make_resident(EMAIL)
    request = await file_request(resident_id=resident.id, kind=RequestKind.ACCESS)
    await worker.run_until_idle()
    delivery = await Delivery.get(request_id=request.id).select_related("request")
    assert delivery.id == 1
    auth = await partner_bearer(client, x.slug)
    assert (await client.get("/api/v1/deliveries/1", headers=auth)).status_code == 200
    # Fullwidth, superscript and Arabic-Indic ones: int() reads the first and last as 1.
    for odd in ("\uff11", "\u00b9", "\u0661", "0\uff11", "\uff11/acknowledge"):
        for method in ("GET", "POST"):
            response = await client.request(method, f"/api/v1/deliveries/{odd}", headers=auth)
            assert response.status_code == 404, (method, odd, response.status_code)
    assert (await client.get("/signataires/eau-du-ponant\uff11")).status_code == 404
    listing = await client.get("/api/v1/deliveries", params={"limit": "\uff15"}, headers=auth)
    assert 400 <= listing.status_code < 500

    # A form field naming a delivery: the same rule.
    await log_in(client, worker, mail_sink, EMAIL)
    path = f"/mon-espace/demandes/{delivery.request.reference}/retirer"
    for odd in ("\uff11", "\u00b9"):
        response = await post_form(client, path, {"delivery": odd})
        assert response.status_code == 422, odd
    assert (await Delivery.get(id=1)).state != DeliveryState.WITHDRAWN


async def test_queries_paths_and_json_bodies_are_bounded(client: httpx.AsyncClient) -> None:
    x = await make_signatory("eau-du-ponant")
    query = await client.get("/verifier", params={"jws": "x" * 25_000})
    assert query.status_code == 422
    assert f"« jws » est trop long : 20{NNBSP}000 caractères au plus" in page_text(query)
    unknown = await client.get("/signataires", params={"page": "x" * 5_000})
    assert unknown.status_code == 422
    for slug in ("x" * 100, "x" * 600):  # past the slug column, past any address segment
        assert (await client.get(f"/signataires/{slug}")).status_code == 404, len(slug)

    auth = await partner_bearer(client, x.slug)
    long_json = await client.post(
        "/api/v1/deliveries/1/extend",
        json={"reason": "x" * 10_000, "extra_months": 1},
        headers=auth,
    )
    assert long_json.status_code == 422
    assert long_json.headers["content-type"].startswith("application/problem+json")
    outcome = {"outcome": {"holds_data": True, "categories": ["c" * 300]}}
    item = await client.post("/api/v1/deliveries/1/fulfil", json=outcome, headers=auth)
    assert item.status_code in (404, 422)  # no such delivery of theirs, or the item's length
