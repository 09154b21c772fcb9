"""The directory as open data: the CSV validates against its own Table Schema (frictionless)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
from frictionless import Resource, Schema

from desk.helppoints.demo import seed_help_points
from desk.helppoints.models import HelpPoint
from desk.helppoints.opendata import columns, schema

ETALAB = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"


async def test_csv_and_json_follow_the_published_schema(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    await seed_help_points()
    # An unpublished point is not open data; a formula-looking text stays text.
    await HelpPoint.filter(city="GUIPAVAS").update(published=False)
    await HelpPoint.filter(city="BREST").limit(1).update(accessibility="=HYPERLINK(1)")
    descriptor = (await client.get("/donnees-ouvertes/points-d-aide.schema.json")).json()
    assert descriptor["licenses"][0]["path"] == ETALAB
    assert descriptor["path"].endswith("/donnees-ouvertes/points-d-aide.schema.json")
    response = await client.get("/donnees-ouvertes/points-d-aide.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "describedby" in response.headers["link"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 2
    assert list(rows[0]) == [f["name"] for f in descriptor["fields"]]
    assert "Guipavas" not in response.text
    assert any(r["accessibility"].startswith("'=") for r in rows)
    path = tmp_path / "points-d-aide.csv"
    path.write_bytes(response.content)
    report = Resource(
        path=path.name, basepath=str(tmp_path), schema=Schema.from_descriptor(descriptor)
    ).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    records = (await client.get("/donnees-ouvertes/points-d-aide.json")).json()
    assert len(records) == 2 and set(records[0]) == set(rows[0])
    bellevue = next(r for r in records if "Bellevue" in r["name"])
    assert bellevue["languages"] == ["français", "breton", "arabe"]
    assert bellevue["opening_hours"][0] == "lundi et jeudi : 9 h – 12 h"


async def test_a_wrong_phone_breaks_the_schema(tmp_path: Path) -> None:
    """The validation is real: a value the schema forbids fails it."""
    path = tmp_path / "points.csv"
    row = dict.fromkeys(columns(), "x") | {
        "slug": "a", "postcode": "29200", "phone": "0298", "updated_at": "2026-12-06T10:00:00+00:00"
    }  # fmt: skip
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns())
        writer.writeheader()
        writer.writerow(row)
    report = Resource(
        path=path.name, basepath=str(tmp_path), schema=Schema.from_descriptor(schema())
    ).validate()
    assert not report.valid


async def test_empty_directory_is_a_header_and_an_empty_list(client: httpx.AsyncClient) -> None:
    response = await client.get("/donnees-ouvertes/points-d-aide.csv")
    assert response.text.startswith("slug,name,street,postcode,city,opening_hours")
    assert (await client.get("/donnees-ouvertes/points-d-aide.json")).json() == []
    page = await client.get("/points-d-aide")
    assert "Aucun point d'aide" in page.text.replace("&#39;", "'")
