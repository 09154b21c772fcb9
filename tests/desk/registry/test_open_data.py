from __future__ import annotations

import csv
import io
from datetime import date, datetime

import httpx

from desk.demo.seed import seed_demo
from desk.registry.models import Declaration, Signatory

SECRET = "jeton-secret-du-partenaire"


async def _seed_with_a_secret() -> None:
    await seed_demo()
    await Signatory.filter(slug="bibus").update(adapter_settings={"token": SECRET})


async def test_json_export_lists_signatories_with_declarations(client: httpx.AsyncClient) -> None:
    await _seed_with_a_secret()

    response = await client.get("/donnees-ouvertes/signataires.json")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    records = response.json()
    assert isinstance(records, list)
    assert len(records) == await Signatory.all().count()
    assert sum(len(r["declarations"]) for r in records) == await Declaration.all().count()
    bibus = next(r for r in records if r["slug"] == "bibus")
    assert bibus["name"] == "Bibus"
    assert (
        bibus["kind"] == "public_operator" and bibus["kind_label"] == "Opérateur de service public"
    )
    assert bibus["charter_status"] == "signed"
    assert date.fromisoformat(bibus["signed_on"]) == date(2023, 2, 14)
    assert bibus["dpo_email"] == "dpo@bibus.exemple.invalid"
    assert bibus["page_url"] == "http://testserver/signataires/bibus"
    validations = next(d for d in bibus["declarations"] if d["code"] == "validations")
    assert validations["legal_basis"] == "legitimate_interest"
    assert validations["legal_basis_label"] == "intérêt légitime"
    assert "numéro de carte" in validations["data_categories"]
    assert validations["recipients"] == ["Brest métropole"]
    assert validations["recipient_refs"] == ["signatory:brest-metropole"]
    assert datetime.fromisoformat(validations["updated_at"]).tzinfo is not None
    assert "adapter_settings" not in response.text
    assert SECRET not in response.text


async def test_csv_export_has_one_row_per_declaration(client: httpx.AsyncClient) -> None:
    await _seed_with_a_secret()

    response = await client.get("/donnees-ouvertes/signataires.csv")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment") and 'filename="signataires.csv"' in disposition
    assert SECRET not in response.text and "adapter_settings" not in response.text
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))
    assert len(rows) == await Declaration.all().count()
    assert {
        "signatory_slug",
        "signatory_name",
        "dpo_email",
        "declaration_code",
        "legal_basis",
        "recipients",
    } <= set(rows[0])
    row = next(
        r
        for r in rows
        if r["signatory_slug"] == "eau-du-ponant" and r["declaration_code"] == "abonnes-eau"
    )
    assert row["signatory_name"] == "Eau du Ponant"
    assert row["signed_on"] == "2022-12-06"
    assert row["legal_basis_label"] == "contrat"
    # Commas, apostrophes and quotes inside values survive the round trip.
    assert row["retention"] == "Durée du contrat, puis 5 ans ; pièces comptables 10 ans."
    assert "Trésor public (Direction générale des finances publiques)" in row["recipients"].split(
        " | "
    )


async def test_csv_keeps_a_signatory_without_declarations(client: httpx.AsyncClient) -> None:
    await Signatory.create(
        slug="nouveau-signataire", name='Association "Le Nouveau"', kind="association",
        signed_on=date(2025, 6, 1), dpo_email="dpo@nouveau.exemple.invalid",
    )  # fmt: skip

    json_records = (await client.get("/donnees-ouvertes/signataires.json")).json()
    rows = list(
        csv.DictReader(io.StringIO((await client.get("/donnees-ouvertes/signataires.csv")).text))
    )

    assert json_records[0]["declarations"] == []
    assert len(rows) == 1
    assert rows[0]["signatory_name"] == 'Association "Le Nouveau"'
    assert rows[0]["declaration_code"] == ""
