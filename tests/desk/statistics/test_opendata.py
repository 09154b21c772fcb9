"""Open data: every CSV validates against its own published Table Schema (frictionless)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from frictionless import Resource, Schema
from tortoise.transactions import in_transaction

from desk.charter.models import (
    Alert,
    AlertLevel,
    CommitteeDecision,
    Complaint,
    DecisionOutcome,
)
from desk.core import clock
from desk.registry.declarations import DeclarationForm, create_declaration, edit_declaration
from desk.registry.joining import record_status
from desk.registry.models import CharterStatus
from desk.requests.models import Delivery
from desk.staff.models import StaffMember, StaffRole
from tests.desk.statistics.test_figures import NOW, generate

DATASETS = (
    "declarations",
    "recipients",
    "statistics",
    "alerts",
    "statuses",
    "declaration_history",
    "complaints",
)
ETALAB = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"


async def _data() -> None:
    await generate(40)
    member = await StaffMember.create(
        email="comite@exemple.invalid", display_name="Comité", role=StaffRole.COMMITTEE
    )
    alert = await Alert.create(
        signatory_id=(await Alert.first()).signatory_id,  # type: ignore[union-attr]
        level=AlertLevel.EXCLUSION_PROPOSED,
        reason="Retards répétés, « toujours » sans réponse",
        delivery_ids=[1, 2, 3],
        created_at=datetime(2026, 3, 1, tzinfo=UTC),
        responded_at=datetime(2026, 3, 5, tzinfo=UTC),
    )
    await CommitteeDecision.create(
        alert=alert, member=member, outcome=DecisionOutcome.KEPT_WITH_CONDITIONS,
        reasoning="Plan de correction crédible.", decided_at=datetime(2026, 3, 20, tzinfo=UTC),
    )  # fmt: skip
    # A complaint the committee decided (its text never reaches the open data).
    delivery = await Delivery.first().prefetch_related("request")
    assert delivery is not None
    await Complaint.create(
        resident_id=delivery.request.resident_id,  # type: ignore[attr-defined]
        delivery=delivery, text="Texte « personnel », jamais publié", status="closed",
        created_at=datetime(2026, 2, 1, tzinfo=UTC), outcome="upheld",
        answered_at=datetime(2026, 2, 20, tzinfo=UTC), answer="Fondée.",
    )  # fmt: skip
    # A dated step of the charter's life, and a declaration with two versions.
    signatory_id = alert.signatory_id  # type: ignore[attr-defined]
    async with in_transaction() as conn:
        await record_status(
            signatory_id=signatory_id,
            status=CharterStatus.SUSPENDED,
            reason="Décision du comité, « en attente » du plan",
            connection=conn,
        )
    form = DeclarationForm(
        code="cantine", title="Cantine", purposes="Inscrire les enfants.",
        legal_basis="public_task", data_categories="identité\nrégime alimentaire",
        retention="1 an", recipients="Trésor public",
    )  # fmt: skip
    declaration = await create_declaration(signatory_id=signatory_id, form=form, actor="system")
    form.retention = "2 ans"
    await edit_declaration(
        signatory_id=signatory_id, declaration_id=declaration.id, form=form, actor="system"
    )


async def test_each_csv_validates_against_its_schema(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(clock, "now", lambda: NOW + timedelta(days=1))
    await _data()
    for name in DATASETS:
        schema_response = await client.get(f"/donnees-ouvertes/{name}.schema.json")
        assert schema_response.status_code == 200
        descriptor = schema_response.json()
        assert descriptor["licenses"][0]["path"] == ETALAB
        assert "Licence Ouverte" in descriptor["licenses"][0]["title"]
        csv_response = await client.get(f"/donnees-ouvertes/{name}.csv")
        assert csv_response.status_code == 200
        assert csv_response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(csv_response.text)))
        assert rows, f"{name}: no rows generated"
        assert list(rows[0]) == [f["name"] for f in descriptor["fields"]]
        path = tmp_path / f"{name}.csv"
        path.write_bytes(csv_response.content)
        schema = Schema.from_descriptor(descriptor)
        report = Resource(path=path.name, basepath=str(tmp_path), schema=schema).validate()
        assert report.valid, (name, report.flatten(["rowNumber", "fieldName", "type", "note"]))
        json_rows = (await client.get(f"/donnees-ouvertes/{name}.json")).json()
        assert len(json_rows) == len(rows)
        assert set(json_rows[0]) == set(rows[0])

    alerts = (await client.get("/donnees-ouvertes/alerts.json")).json()
    assert {a["decision"] for a in alerts} == {None, "kept_with_conditions"}
    recipients = (await client.get("/donnees-ouvertes/recipients.json")).json()
    assert {r["recipient"] for r in recipients} == {"Trésor public"}


async def test_a_row_breaking_the_schema_is_caught(tmp_path: Path) -> None:
    """The validation is real: a wrong value in a typed column fails it."""
    from desk.statistics.opendata import schema

    path = tmp_path / "alerts.csv"
    fields = [f["name"] for f in schema("alerts")["fields"]]
    row = dict.fromkeys(fields, "") | {
        "alert_id": "1", "signatory_slug": "x", "signatory_name": "X", "level": "7",
        "level_label": "?", "reason": "r", "delivery_count": "1",
        "created_at": "2026-01-01T00:00:00+00:00", "answered": "peut-être",
    }  # fmt: skip
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerow(row)
    descriptor = schema("alerts")
    report = Resource(
        path=path.name,
        basepath=str(tmp_path),
        schema=Schema.from_descriptor(
            {k: descriptor[k] for k in ("fields", "primaryKey", "missingValues")}
        ),
    ).validate()
    assert not report.valid


async def test_index_links_every_dataset_and_the_licence(client: httpx.AsyncClient) -> None:
    response = await client.get("/donnees-ouvertes/")
    assert response.status_code == 200
    html = response.text
    for name in DATASETS:
        for suffix in (".csv", ".json", ".schema.json"):
            assert f"/donnees-ouvertes/{name}{suffix}" in html
    assert "/donnees-ouvertes/signataires.csv" in html and ETALAB in html
    assert "Licence Ouverte" in html
    redirect = await client.get("/donnees-ouvertes", follow_redirects=False)
    assert redirect.status_code == 308
    # The register's own files are still served by the register.
    assert (await client.get("/donnees-ouvertes/signataires.json")).status_code == 200


async def test_empty_desk_still_serves_valid_files_with_a_header(client: httpx.AsyncClient) -> None:
    response = await client.get("/donnees-ouvertes/statistics.csv")
    assert response.status_code == 200
    assert response.text.startswith("year,signatory_slug,signatory_name,received_total")
    assert (await client.get("/donnees-ouvertes/alerts.json")).json() == []
    assert (await client.get("/donnees-ouvertes/inconnu.csv")).status_code == 404
