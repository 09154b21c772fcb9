"""Issue 17 item 6: a copy people can read (a page and a real PDF, beside the machine file),
which an interrupted download can take again for a short while from the same browser session,
still one copy per person, still expiring, then a clear page that says what to do."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from pypdf import PdfReader
from starlette.applications import Starlette

from desk.core import clock
from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.registry.models import Declaration
from desk.requests import transitions
from desk.requests.effects import UploadedFile
from desk.requests.models import AccessCopy, Delivery, RequestKind, RightsRequest
from desk.requests.services import file_request
from desk.residents.models import Resident
from desk.retention.rules import purge_access_copies
from tests.desk.residents.helpers import log_in, page_text, post_form
from tests.factories import make_signatory

EMAIL = "camille@exemple.invalid"
DATA = {
    "abonne": {"nom": "Camille Le Gall", "date_naissance": "1980-03-03", "newsletter": True},
    "releves_compteur": [
        {"date": "2025-01-02", "index_m3": 1204},
        {"date": "2025-07-01", "index_m3": 1262},
    ],
    "moyens_de_paiement": ["prélèvement", "TIP"],
}


@pytest.fixture
async def other_client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """The same resident's other browser (another device)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def _copy(
    app: Starlette,
    worker: Worker,
    *,
    filename: str = "copie-eau.json",
    content_type: str = "application/json",
    content: bytes | None = None,
    named: list[str] | None = None,
) -> tuple[str, AccessCopy]:
    """Eau du Ponant answers an access request with a file: (request reference, copy)."""
    signatory = await make_signatory("eau-du-ponant", name="Eau du Ponant", declarations=2)
    resident = await Resident.get(email=EMAIL)
    rt = app.state.runtime
    if named is not None:
        discovery = await file_request(resident_id=resident.id, kind=RequestKind.DISCOVERY)
        found = await Delivery.get(request_id=discovery.id)
        await transitions.fulfil(
            delivery_id=found.id,
            actor="partner",
            outcome={"holds_data": True, "declarations": named},
            keyring=rt.keyring,
            issuer=rt.issuer,
        )
    request = await file_request(
        resident_id=resident.id, kind=RequestKind.ACCESS, signatory_ids=[signatory.id]
    )
    delivery = await Delivery.get(request_id=request.id)
    raw = content if content is not None else json.dumps(DATA, ensure_ascii=False).encode()
    await transitions.fulfil(
        delivery_id=delivery.id,
        actor="partner",
        outcome={"holds_data": True},
        file=UploadedFile(filename, content_type, raw),
        keyring=rt.keyring,
        issuer=rt.issuer,
    )
    await worker.run_until_idle()
    return request.reference, await AccessCopy.get(delivery_id=delivery.id)


async def test_the_copy_reads_as_a_page_and_a_pdf_beside_the_file_from_one_browser(
    app: Starlette,
    client: httpx.AsyncClient,
    other_client: httpx.AsyncClient,
    worker: Worker,
    mail_sink: MailSink,
) -> None:
    await log_in(client, worker, mail_sink, EMAIL)
    reference, copy = await _copy(app, worker)
    request_page = page_text(await client.get(f"/mon-espace/demandes/{reference}"))
    assert f'href="/mon-espace/copies/{copy.id}/lire"' in request_page
    assert f'href="/mon-espace/copies/{copy.id}/pdf"' in request_page
    assert "vous avez 15 minutes, depuis ce navigateur" in request_page

    # A link preview's HEAD takes nothing.
    assert (await client.head(f"/mon-espace/copies/{copy.id}/lire")).status_code == 405
    assert (await AccessCopy.get(id=copy.id)).downloaded_at is None

    page = await client.get(f"/mon-espace/copies/{copy.id}/lire")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    text = page_text(page)
    assert "Copie de vos données chez Eau du Ponant" in text
    assert "Camille Le Gall" in text and "Date naissance" in text
    assert "<caption>Releves compteur</caption>" in text and "1262" in text
    assert "prélèvement, TIP" in text
    # What each declaration says it does with the data, in the signatory's words.
    assert "Ce que Eau du Ponant déclare faire de ces données" not in text  # elided
    assert "Ce qu'Eau du Ponant déclare faire de ces données" in text
    assert "Gérer les abonnements et la facturation." in text
    assert "5 ans après la fin du contrat" in text and "Trésor public" in text
    assert "jusqu'à" in text  # the retry window's end

    pdf = await client.get(f"/mon-espace/copies/{copy.id}/pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert 'filename="copie-eau-du-ponant.pdf"' in pdf.headers["content-disposition"]
    reader = PdfReader(io.BytesIO(pdf.content), strict=True)
    assert reader.metadata is not None
    assert reader.metadata.title == "Copie de vos données chez Eau du Ponant"
    words = " ".join(p.extract_text() for p in reader.pages)
    assert "Camille Le Gall" in words and "prélèvement" in words
    assert "Gérer les abonnements et la facturation." in words

    machine = await client.get(f"/mon-espace/copies/{copy.id}")
    assert machine.status_code == 200
    assert json.loads(machine.content) == DATA
    assert machine.headers["content-type"].startswith("application/json")

    # Still one copy per person: the same resident's other browser finds it taken.
    await log_in(other_client, worker, mail_sink, EMAIL)
    elsewhere = await other_client.get(f"/mon-espace/copies/{copy.id}/lire")
    assert elsewhere.status_code == 410
    said = page_text(elsewhere)
    assert "déjà été ouverte depuis un autre navigateur" in said
    assert "Demander une nouvelle copie à Eau du Ponant" in said
    assert (await other_client.get(f"/mon-espace/copies/{copy.id}")).status_code == 410

    english = page_text(await client.get(f"/mon-espace/copies/{copy.id}/lire?lang=en"))
    assert "Copy of your data held by Eau du Ponant" in english
    assert "Enregistrez" not in english and "Télécharger" not in english


async def test_after_the_window_the_copy_is_erased_and_the_page_says_what_to_do(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await log_in(client, worker, mail_sink, EMAIL)
    reference, copy = await _copy(
        app, worker, filename="trajets.csv", content_type="text/csv",
        content="date;trajet\n2025-01-02;Brest — Guipavas\n".encode(),
    )  # fmt: skip
    first = page_text(await client.get(f"/mon-espace/copies/{copy.id}/lire"))
    assert "Brest — Guipavas" in first and '<th scope="col">Trajet</th>' in first

    # Sixteen minutes later, a retention run erases it; the same browser is told why.
    opened = clock.now() - timedelta(minutes=16)
    await AccessCopy.filter(id=copy.id).update(downloaded_at=opened)
    assert await purge_access_copies(now=clock.now()) == 1
    assert (await AccessCopy.get(id=copy.id)).content is None
    gone = await client.get(f"/mon-espace/copies/{copy.id}/pdf")
    assert gone.status_code == 410
    said = page_text(gone)
    assert "Cette copie n'est plus disponible" in said
    assert "il y a plus de 15 minutes" in said
    ask = post_form(
        client,
        "/mon-espace/demandes",
        {"kind": "access", "signatory": "eau-du-ponant", "submission_key": "n" * 16},
    )
    assert (await ask).status_code == 303
    assert await RightsRequest.filter(kind=RequestKind.ACCESS).count() == 2
    assert "gratuit" in said and f"/mon-espace/demandes/{reference}" in said


async def test_the_page_names_the_declarations_the_signatory_said_concern_me(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await log_in(client, worker, mail_sink, EMAIL)
    _, copy = await _copy(
        app,
        worker,
        filename="copie.pdf",
        content_type="application/pdf",
        content=b"%PDF-1.4\n%%EOF\n",
        named=["traitement-2"],
    )
    await Declaration.filter(code="traitement-2").update(title="Relève des compteurs")
    text = page_text(await client.get(f"/mon-espace/copies/{copy.id}/lire"))
    assert "a dit détenir des données sur vous" in text
    assert "Relève des compteurs" in text and "Gestion des abonnés 1" not in text
    # A PDF copy is a document already: the page says so and offers it.
    assert "Cette copie est un document PDF" in text
    original = await client.get(f"/mon-espace/copies/{copy.id}")
    assert original.content == b"%PDF-1.4\n%%EOF\n"
