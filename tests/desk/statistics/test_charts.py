"""Charts are valid SVG with a title and a description, and come with their data as text."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime

from desk.statistics.charts import bar_chart, line_chart, overview_charts
from desk.statistics.figures import MonthPoint, Overview, SignatoryStats

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 — our own output


def test_bar_chart_is_valid_accessible_svg_with_its_table() -> None:
    chart = bar_chart(
        title="Demandes <reçues>", desc="Barres & mois", labels=["janv.", "févr."],
        values=[3, 12], label_header="Mois", value_header="Demandes", summary="15 demandes.",
    )  # fmt: skip
    root = _parse(str(chart.svg))
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and title.text == "Demandes <reçues>"
    assert desc is not None and desc.text == "Barres & mois"
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    bars = root.findall(f"{SVG}rect")
    assert len(bars) == 2 and float(bars[1].get("height", 0)) > float(bars[0].get("height", 0))
    assert chart.rows == [("janv.", "3"), ("févr.", "12")]
    assert chart.summary == "15 demandes."


def test_line_chart_breaks_on_missing_values() -> None:
    chart = line_chart(
        title="Dans le délai", desc="Courbe", labels=["a", "b", "c", "d"],
        values=[50.0, None, 75.5, 100.0], label_header="Mois", value_header="Part",
        summary="…", unit=" %", top=100.0, missing="aucune réponse",
    )  # fmt: skip
    root = _parse(str(chart.svg))
    assert len(root.findall(f"{SVG}polyline")) == 2
    assert len(root.findall(f"{SVG}circle")) == 3
    assert chart.rows[1] == ("b", "aucune réponse") and chart.rows[2] == ("c", "75,5 %")


def _stats() -> SignatoryStats:
    return SignatoryStats("", "Tous", {}, 0, None, None, None, 0, 0, 0)


def test_overview_charts_summarise_in_one_sentence() -> None:
    months = [
        MonthPoint(date(2026, 1, 1), 10, 8, 6),
        MonthPoint(date(2026, 2, 1), 4, 4, 4),
        MonthPoint(date(2026, 3, 1), 0, 0, 0),
    ]
    moment = datetime(2026, 4, 1, tzinfo=UTC)
    overview = Overview(
        start=moment, end=moment, now=moment, signatories=[], total=_stats(), months=months
    )

    def t(text: str, **values: object) -> str:
        return text.format(**values)

    received, on_time = overview_charts(overview, t=t, locale="fr")
    assert received.summary == (
        "14 demandes reçues sur la période ; le mois le plus chargé est janv. 2026 "
        "avec 10 demandes."
    )
    assert on_time.summary == (
        "Sur la période, 83,3 % des réponses sont arrivées dans le délai ; "
        "le mois le plus faible est janv. 2026 (75 %)."
    )
    assert on_time.rows[2] == ("mars 2026", "aucune réponse")
    for chart in (received, on_time):
        _parse(str(chart.svg))
