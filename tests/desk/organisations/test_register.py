"""The register of organisations over real HTTP: the desk's team adds the CAF, a DPO names it
and a signatory as recipients and uploads the impact study as a PDF; the public pages link
them, and serve the PDF as a PDF; bad and absurd input gets a French answer, never a 500."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
from frictionless import Resource, Schema

from desk.mail.sink import MailSink
from desk.organisations.models import OrganisationMember
from desk.outbox.worker import Worker
from desk.registry.models import Declaration, DeclarationVersion, Organisation
from tests.desk.organisations.support import member_log_in
from tests.desk.staff.support import post_form, staff_log_in, text
from tests.factories import make_signatory
from tests.helpers import form_token

DPO = "dpo@eau-du-ponant.exemple.invalid"
PDF = b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
CAF = {
    "name": "CAF du Finistère", "kind": "public_operator", "siret": "443 061 841",
    "website": "https://www.caf.fr", "description": "Caisse d'allocations familiales.",
}  # fmt: skip
DECLARATION = {
    "code": "aides", "title": "Aides au paiement des factures", "purposes": "Accorder des aides.",
    "legal_basis": "public_task", "data_categories": "identité\nressources",
    "retention": "3 ans", "source": "Vous",
}  # fmt: skip


async def test_the_team_adds_an_organisation_and_bad_input_is_answered_in_french(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await staff_log_in(client, worker, mail_sink, email="bo@guichet.exemple.invalid")
    assert (await client.get("/back-office/organisations")).status_code == 403
    await post_form(client, "/equipe/deconnexion", {})
    await staff_log_in(client, worker, mail_sink, email="reg@guichet.exemple.invalid",
                       role="register")  # fmt: skip
    assert (await client.get("/back-office/organisations")).status_code == 200
    for bad, message in (
        ({**CAF, "name": ""}, "Indiquez le nom de l'organisation"),
        ({**CAF, "kind": "martian"}, "Choisissez le type d'organisation"),
        ({**CAF, "siret": "443061842"}, "n'existe pas"),
        ({**CAF, "website": "javascript:alert(1)"}, "commence par https://"),
        ({**CAF, "name": "A" * 300}, "trop long"),
        ({**CAF, "description": "x" * 3000}, "trop long"),
    ):
        refused = await post_form(client, "/back-office/organisations", bad)
        assert refused.status_code == 422, bad
        assert message in text(refused)
    absurd = await post_form(client, "/back-office/organisations", {**CAF, "name": "A" * 100_000})
    assert absurd.status_code in (400, 413, 422)
    added = await post_form(client, "/back-office/organisations", CAF)
    assert added.status_code == 303
    again = await post_form(client, "/back-office/organisations", CAF)
    assert again.status_code == 422 and "déjà" in text(again)
    assert await Organisation.filter(slug="caf-du-finistere").count() == 1
    page = await client.get("/organisations/caf-du-finistere")
    assert page.status_code == 200 and "n'a pas signé la charte" in text(page)
    assert (await client.get("/organisations/nobody")).status_code == 404
    assert (await client.get("/organisations/" + "x" * 500)).status_code == 404


async def test_recipients_from_the_register_and_the_impact_study_as_a_pdf(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink, tmp_path: Path
) -> None:
    own = await make_signatory("eau-du-ponant", declarations=1)  # one legacy free-text recipient
    await make_signatory("brest-metropole", name="Brest métropole", declarations=0)
    await Organisation.create(slug="caf-du-finistere", name="CAF du Finistère",
                              kind="public_operator")  # fmt: skip
    await OrganisationMember.create(signatory=own, email=DPO, display_name="Nolwenn", role="dpo")
    await member_log_in(client, worker, mail_sink, DPO)
    form = await client.get("/organisation/declarations/nouvelle")
    assert 'value="organisation:caf-du-finistere"' in form.text
    assert 'enctype="multipart/form-data"' in form.text
    refs = {"recipient_refs": ["organisation:caf-du-finistere", "signatory:brest-metropole"]}

    new = "/organisation/declarations/nouvelle"
    for content, status, message in (
        (b"", 422, "vide"),
        (b"<html>not a pdf</html>", 422, "n'est pas un PDF"),
        (b"%PDF-" + b"0" * (5 * 1024 * 1024), 413, "5 Mo au plus"),
        (b"%PDF-" + b"0" * (6 * 1024 * 1024), 413, "5 Mo au plus"),
    ):
        response = await post_form_files(client, new, {**DECLARATION, **refs}, content)
        assert response.status_code == status, (len(content), response.status_code)
        assert message in text(response)
    unknown = await post_form_files(
        client, new, {**DECLARATION, "recipient_refs": ["organisation:nobody"]}, None
    )
    assert unknown.status_code == 422 and "pas dans le registre" in text(unknown)
    created = await post_form_files(client, new, {**DECLARATION, **refs}, PDF)
    assert created.status_code == 303
    declaration = await Declaration.get(signatory_id=own.id, code="aides")
    assert declaration.recipient_refs == refs["recipient_refs"]
    assert declaration.recipients == ["CAF du Finistère", "Brest métropole"]

    public = await client.get("/signataires/eau-du-ponant")
    assert '<a href="/organisations/caf-du-finistere">CAF du Finistère</a>' in public.text
    assert '<a href="/signataires/brest-metropole">Brest métropole</a>' in text(public)
    assert "texte libre" in text(public)  # the older declaration's "Trésor public"
    pdf = await client.get("/signataires/eau-du-ponant/declarations/aides/etude-impact.pdf")
    assert pdf.status_code == 200 and pdf.content == PDF
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["x-content-type-options"] == "nosniff"
    assert "etude-impact-eau-du-ponant-aides.pdf" in pdf.headers["content-disposition"]
    missing = await client.get(
        "/signataires/eau-du-ponant/declarations/traitement-1/etude-impact.pdf"
    )
    assert missing.status_code == 404
    caf = await client.get("/organisations/caf-du-finistere")
    assert "Aides au paiement des factures" in text(caf)

    # Legacy free text can be kept or dropped, never added to.
    legacy = await Declaration.get(signatory_id=own.id, code="traitement-1")
    edit = f"/organisation/declarations/{legacy.id}"
    page = await client.get(edit)
    assert "Trésor public" in text(page) and "texte libre" in text(page)
    values = {"title": legacy.title, "purposes": legacy.purposes, "legal_basis": "contract",
              "retention": legacy.retention, "data_categories": "identité"}  # fmt: skip
    added = await post_form_files(client, edit, {**values, "legacy_recipients": ["Inventé"]}, None)
    assert added.status_code == 422 and "ne s'écrivent plus en texte libre" in text(added)
    dropped = await post_form_files(
        client, edit, {**values, "recipient_refs": ["organisation:caf-du-finistere"]}, None
    )
    assert dropped.status_code == 303
    legacy = await Declaration.get(id=legacy.id)
    assert legacy.recipients == ["CAF du Finistère"]

    # A new PDF is a new public version, named by its SHA-256.
    declaration_edit = f"/organisation/declarations/{declaration.id}"
    replaced = await post_form_files(
        client, declaration_edit, {**DECLARATION, **refs}, PDF.replace(b"1.7", b"2.0")
    )
    assert replaced.status_code == 303
    changes = await DeclarationVersion.filter(declaration_id=declaration.id).values_list(
        "change", "snapshot"
    )
    assert [c for c, _ in changes] == ["created", "edited"]
    history = await client.get("/signataires/eau-du-ponant/declarations/aides/historique")
    assert "empreinte SHA-256" in text(history)

    # Open data: the whole register, validated against its own Table Schema.
    schema = (await client.get("/donnees-ouvertes/organisations.schema.json")).json()
    csv_response = await client.get("/donnees-ouvertes/organisations.csv")
    assert csv_response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(csv_response.text)))
    assert list(rows[0]) == [f["name"] for f in schema["fields"]]
    path = tmp_path / "organisations.csv"
    path.write_bytes(csv_response.content)
    report = Resource(
        path=path.name, basepath=str(tmp_path), schema=Schema.from_descriptor(schema)
    ).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    by_slug = {
        r["slug"]: r for r in (await client.get("/donnees-ouvertes/organisations.json")).json()
    }
    assert by_slug["caf-du-finistere"]["is_signatory"] is False
    assert by_slug["caf-du-finistere"]["receives_from_declarations"] == 2
    assert by_slug["brest-metropole"]["is_signatory"] is True
    listing = text(await client.get("/organisations"))
    assert "CAF du Finistère" in listing and "Brest métropole" in listing


async def post_form_files(
    client: httpx.AsyncClient, path: str, data: dict[str, object], content: bytes | None
) -> httpx.Response:
    """The declaration form as a browser sends it: multipart, the PDF input empty or not."""
    token = form_token(client)
    files = {"dpia_pdf": ("etude.pdf", content or b"", "application/pdf")}
    if content is None:
        files = {"dpia_pdf": ("", b"", "application/octet-stream")}
    return await client.post(path, data={"csrftoken": token, **data}, files=files)
