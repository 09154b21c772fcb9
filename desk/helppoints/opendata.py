"""The directory as open data: CSV and JSON, described by a Table Schema published beside them.

Columns and their order come from schemas/help_points.json, as for the charter's datasets
(desk/statistics/opendata.py). Only published points; no person is ever named.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from desk.helppoints.models import HelpPoint
from desk.web.csv_export import csv_text

SCHEMA_PATH = Path(__file__).parent / "schemas" / "help_points.json"
DATASET = "points-d-aide"
LIST_SEPARATOR = " | "

Row = dict[str, Any]


@cache
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text("utf-8"))
    return loaded


def columns() -> list[str]:
    return [str(f["name"]) for f in schema()["fields"]]


def published_schema(*, base_url: str) -> dict[str, Any]:
    """The schema with absolute addresses for this desk."""
    document = dict(schema())
    base = base_url.rstrip("/")
    document["homepage"] = f"{base}/points-d-aide"
    document["path"] = f"{base}/donnees-ouvertes/{DATASET}.schema.json"
    document["resources"] = [
        {"title": f"{DATASET}.csv", "path": f"{base}/donnees-ouvertes/{DATASET}.csv"},
        {"title": f"{DATASET}.json", "path": f"{base}/donnees-ouvertes/{DATASET}.json"},
    ]
    return document


def _lines(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.strip()]


async def rows() -> list[Row]:
    points = await HelpPoint.filter(published=True).order_by("city", "name", "id")
    return [
        {
            "slug": p.slug,
            "name": p.name,
            "street": p.street,
            "postcode": p.postcode,
            "city": p.city,
            "opening_hours": _lines(p.opening_hours),
            "phone": p.phone,
            "accessibility": _lines(p.accessibility),
            "languages": list(p.languages or []),
            "updated_at": p.updated_at.isoformat(),
        }
        for p in points
    ]


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return LIST_SEPARATOR.join(str(v) for v in value)
    return "" if value is None else str(value)


def to_csv(records: list[Row]) -> str:
    """RFC 4180 CSV (comma, double quotes, CRLF), columns in the schema's order."""
    names = columns()
    return csv_text(names, ({k: _cell(r.get(k)) for k in names} for r in records))
