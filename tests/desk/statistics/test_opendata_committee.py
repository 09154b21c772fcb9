"""The register's CSV has its Table Schema (signataires.schema.json was a 404), and the
committee's decisions are open data, without personal data; both validated with frictionless."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import httpx
from frictionless import Resource, Schema

from desk.charter import contests, suggestions
from desk.charter.models import Alert, AlertLevel, Complaint
from desk.core import clock
from desk.registry.services import CSV_COLUMNS
from desk.requests.models import RequestKind
from desk.staff.models import StaffMember, StaffRole
from tests.desk.charter.support import one_delivery
from tests.factories import make_resident, make_signatory

PERSONAL = "Camille Le Gall, 12 rue de Siam"


async def _validate(client: httpx.AsyncClient, name: str, tmp_path: Path) -> list[dict[str, str]]:
    descriptor = (await client.get(f"/donnees-ouvertes/{name}.schema.json")).json()
    response = await client.get(f"/donnees-ouvertes/{name}.csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows and list(rows[0]) == [f["name"] for f in descriptor["fields"]]
    (tmp_path / f"{name}.csv").write_bytes(response.content)
    report = Resource(
        path=f"{name}.csv", basepath=str(tmp_path), schema=Schema.from_descriptor(descriptor)
    ).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    return rows


async def test_the_register_csv_validates_against_its_published_schema(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    await make_signatory("eau-du-ponant", name="Eau du Ponant")
    await make_signatory("bibus", name="Bibus", adapter="simulated")
    schema = await client.get("/donnees-ouvertes/signataires.schema.json")
    assert schema.status_code == 200
    assert [f["name"] for f in schema.json()["fields"]] == CSV_COLUMNS
    assert schema.json()["path"].endswith("/donnees-ouvertes/signataires.schema.json")
    rows = await _validate(client, "signataires", tmp_path)
    assert {r["signatory_slug"] for r in rows} == {"eau-du-ponant", "bibus"}
    index = await client.get("/donnees-ouvertes/")
    assert 'href="/donnees-ouvertes/signataires.schema.json"' in index.text


async def test_committee_decisions_are_open_data_without_personal_data(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    signatory = await make_signatory("eau-du-ponant", name="Eau du Ponant")
    resident = await make_resident("camille@exemple.invalid")
    delivery = await one_delivery(signatory, resident.id, RequestKind.ERASURE)
    member = await StaffMember.create(
        email="comite@exemple.invalid", display_name="Comité", role=StaffRole.COMMITTEE
    )
    await Complaint.create(
        resident=resident, delivery=delivery, text=PERSONAL, status="closed", outcome="upheld",
        created_at=datetime(2026, 2, 1, tzinfo=UTC), answered_at=datetime(2026, 2, 20, tzinfo=UTC),
        answer=f"Fondée. {PERSONAL}",
    )  # fmt: skip
    alert = await Alert.create(
        signatory=signatory, level=AlertLevel.REMINDER, reason="Retard.", delivery_ids=[1],
        created_at=clock.now(),
    )  # fmt: skip
    contest = await contests.contest_alert(
        alert_id=alert.id, signatory_id=signatory.id, reason="Pas juste.", actor="member:1"
    )
    await contests.decide_contest(
        contest_id=contest.id, member_id=member.id, outcome="dismissed", reasoning="Délais connus."
    )
    suggestion = await suggestions.submit_suggestion(
        text=f"Une idée. {PERSONAL}", principle="5", email="x@exemple.invalid", now=clock.now()
    )
    await suggestions.answer_suggestion(
        suggestion_id=suggestion.id, member_id=member.id, outcome="adopted",
        answer="Retenue.", public_text="Une idée.",
    )  # fmt: skip
    rows = await _validate(client, "committee_decisions", tmp_path)
    assert {r["kind"] for r in rows} == {"complaint", "alert_contest", "suggestion"}
    complaint = next(r for r in rows if r["kind"] == "complaint")
    assert complaint["outcome"] == "upheld" and complaint["reasoning"] == ""
    raw = (await client.get("/donnees-ouvertes/committee_decisions.csv")).text
    raw += (await client.get("/donnees-ouvertes/committee_decisions.json")).text
    assert "Camille" not in raw and "x@exemple.invalid" not in raw
    assert "Délais connus." in raw


async def test_the_annual_report_carries_the_committees_recommendations_and_contests(
    client: httpx.AsyncClient,
) -> None:
    signatory = await make_signatory("eau-du-ponant", name="Eau du Ponant")
    member = await StaffMember.create(
        email="comite@exemple.invalid", display_name="Comité", role=StaffRole.COMMITTEE
    )
    alert = await Alert.create(
        signatory=signatory, level=AlertLevel.REMINDER, reason="Retard.", delivery_ids=[1],
        created_at=clock.now(),
    )  # fmt: skip
    contest = await contests.contest_alert(
        alert_id=alert.id, signatory_id=signatory.id, reason="Pas juste.", actor="member:1"
    )
    await contests.decide_contest(
        contest_id=contest.id, member_id=member.id, outcome="upheld", reasoning="Exact."
    )
    for text_, outcome in (("Publier les capteurs.", "adopted"), ("Tout changer.", "declined")):
        suggestion = await suggestions.submit_suggestion(
            text=text_, principle="", email="", now=clock.now()
        )
        await suggestions.answer_suggestion(
            suggestion_id=suggestion.id, member_id=member.id, outcome=outcome,
            answer="Réponse.", public_text="",
        )  # fmt: skip
    year = clock.local(clock.now()).year
    page = (await client.get(f"/bilan/{year}")).text
    assert "Publier les capteurs." in page and "Tout changer." not in page
    assert "retenue pour la prochaine version de la charte" in page
    assert "1 fondées (alerte retirée)" in page
