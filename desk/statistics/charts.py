"""Server-side SVG charts: no JavaScript, readable by screen readers.

Each chart is an `<svg role="img">` with a <title> and a <desc>, and comes with its data as a
table and a one-sentence summary (templates/charter/stats_chart.html shows all three), so the
figures are never only in a picture.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

from desk.core.translatable import N_
from desk.statistics.figures import Overview

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 16, 44
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
TICKS = 5
BAR_COLOUR = "#1f5f8b"
LINE_COLOUR = "#b3261e"
GRID_COLOUR = "#c9d3dc"
_ids = itertools.count(1)


@dataclass(frozen=True)
class Chart:
    svg: Markup
    title: str
    headers: tuple[str, str]
    rows: list[tuple[str, str]]
    summary: str


def _nice_max(value: float) -> float:
    """A round top for the axis (1, 2, 5 x 10^n) so the gridlines read well."""
    if value <= 5:
        return 5.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)


def _fmt(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}".replace(".", ",")


def _frame(title: str, desc: str, body: list[str]) -> Markup:
    uid = next(_ids)
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" role="img" aria-labelledby="chart-t{uid} chart-d{uid}" class="chart">'
        f'<title id="chart-t{uid}">{escape(title)}</title>'
        f'<desc id="chart-d{uid}">{escape(desc)}</desc>'
    )
    return Markup(head + "".join(body) + "</svg>")


def _axes(top: float, unit: str) -> list[str]:
    parts: list[str] = []
    for i in range(TICKS + 1):
        value = top * i / TICKS
        y = TOP + PLOT_H - PLOT_H * i / TICKS
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
            f'stroke="{GRID_COLOUR}" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12" '
            f'fill="#333">{escape(_fmt(value) + unit)}</text>'
        )
    return parts


def _x_labels(labels: list[str], centres: list[float]) -> list[str]:
    # Skip labels when there are many, so they never overlap.
    every = max(1, -(-len(labels) // 12))
    parts = []
    for i, (label, x) in enumerate(zip(labels, centres, strict=True)):
        if i % every:
            continue
        lines = label.split("\n")
        spans = "".join(
            f'<tspan x="{x:.1f}" dy="{0 if n == 0 else 14}">{escape(line)}</tspan>'
            for n, line in enumerate(lines)
        )
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" font-size="12" '
            f'fill="#333">{spans}</text>'
        )
    return parts


def bar_chart(
    *,
    title: str,
    desc: str,
    labels: list[str],
    values: list[float],
    value_header: str,
    label_header: str,
    summary: str,
    unit: str = "",
    axis_labels: list[str] | None = None,
) -> Chart:
    top = _nice_max(max(values, default=0))
    slot = PLOT_W / max(1, len(values))
    width = slot * 0.7
    body = _axes(top, unit)
    centres = []
    for i, value in enumerate(values):
        height = PLOT_H * value / top
        x = LEFT + slot * i + (slot - width) / 2
        centres.append(x + width / 2)
        body.append(
            f'<rect x="{x:.1f}" y="{TOP + PLOT_H - height:.1f}" width="{width:.1f}" '
            f'height="{height:.1f}" fill="{BAR_COLOUR}"/>'
        )
    body += _x_labels(axis_labels or labels, centres)
    rows = [(label, _fmt(v) + unit) for label, v in zip(labels, values, strict=True)]
    return Chart(_frame(title, desc, body), title, (label_header, value_header), rows, summary)


def line_chart(
    *,
    title: str,
    desc: str,
    labels: list[str],
    values: list[float | None],
    value_header: str,
    label_header: str,
    summary: str,
    unit: str = "",
    top: float | None = None,
    missing: str = "—",
    axis_labels: list[str] | None = None,
) -> Chart:
    """A line through the known points; a missing value (None) breaks the line."""
    top = (
        top if top is not None else _nice_max(max((v for v in values if v is not None), default=0))
    )
    step = PLOT_W / max(1, len(values))
    centres = [LEFT + step * i + step / 2 for i in range(len(values))]
    body = _axes(top, unit)
    segment: list[str] = []
    segments: list[list[str]] = []
    for x, value in zip(centres, values, strict=True):
        if value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        y = TOP + PLOT_H - PLOT_H * value / top
        segment.append(f"{x:.1f},{y:.1f}")
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{LINE_COLOUR}"/>')
    if segment:
        segments.append(segment)
    for points in segments:
        body.append(
            f'<polyline points="{" ".join(points)}" fill="none" stroke="{LINE_COLOUR}" '
            'stroke-width="2.5"/>'
        )
    body += _x_labels(axis_labels or labels, centres)
    rows = [
        (label, missing if v is None else _fmt(v) + unit)
        for label, v in zip(labels, values, strict=True)
    ]
    return Chart(_frame(title, desc, body), title, (label_header, value_header), rows, summary)


# --- The charts of /statistiques and /bilan ------------------------------------------------------

MONTHS_SHORT_FR = (
    "janv.", "févr.", "mars", "avr.", "mai", "juin",
    "juil.", "août", "sept.", "oct.", "nov.", "déc.",
)  # fmt: skip
MONTHS_SHORT_EN = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)  # fmt: skip

Translate = Callable[..., str]


def month_label(month: date, locale: str) -> str:
    names = MONTHS_SHORT_EN if locale == "en" else MONTHS_SHORT_FR
    return f"{names[month.month - 1]} {month.year}"


def overview_charts(overview: Overview, *, t: Translate, locale: str) -> list[Chart]:
    """Requests received per month (bars) and share answered on time per month (line)."""
    months = overview.months
    labels = [month_label(m.month, locale) for m in months]
    # On the axis: the month, and the year under the first month and under each January.
    axis = [
        month_label(m.month, locale).replace(" ", "\n")
        if i == 0 or m.month.month == 1
        else month_label(m.month, locale).split(" ")[0]
        for i, m in enumerate(months)
    ]
    received = [float(m.received) for m in months]
    shares = [None if m.on_time_share is None else round(100 * m.on_time_share, 1) for m in months]
    total = sum(m.received for m in months)
    if months and total:
        busiest = max(months, key=lambda m: m.received)
        received_summary = t(
            N_(
                "{total} demandes reçues sur la période ; le mois le plus chargé est {month} "
                "avec {count} demandes."
            ),
            total=total,
            month=month_label(busiest.month, locale),
            count=busiest.received,
        )
    else:
        received_summary = t(N_("Aucune demande reçue sur la période."))
    known = [(m, s) for m, s in zip(months, shares, strict=True) if s is not None]
    if known:
        lowest = min(known, key=lambda pair: pair[1])
        answered = sum(m.answered for m in months)
        on_time = sum(m.answered_on_time for m in months)
        share_summary = t(
            N_(
                "Sur la période, {share} % des réponses sont arrivées dans le délai ; "
                "le mois le plus faible est {month} ({low} %)."
            ),
            share=_fmt(round(100 * on_time / answered, 1)),
            month=month_label(lowest[0].month, locale),
            low=_fmt(lowest[1]),
        )
    else:
        share_summary = t(
            N_("Aucune réponse sur la période : pas de part dans le délai à montrer.")
        )
    return [
        bar_chart(
            title=t(N_("Demandes reçues chaque mois")),
            desc=t(
                N_(
                    "Diagramme en barres : nombre de demandes reçues par les signataires, "
                    "mois par mois."
                )
            ),
            labels=labels,
            axis_labels=axis,
            values=received,
            label_header=t(N_("Mois")),
            value_header=t("Demandes reçues"),
            summary=received_summary,
        ),
        line_chart(
            title=t(N_("Part des demandes traitées dans le délai, chaque mois")),
            desc=t(
                N_(
                    "Courbe : pour les demandes reçues chaque mois et déjà traitées, pourcentage "
                    "de réponses arrivées avant la date limite. Un mois sans réponse interrompt la "
                    "courbe."
                )
            ),
            labels=labels,
            axis_labels=axis,
            values=shares,
            label_header=t(N_("Mois de réception")),
            value_header=t(N_("Réponses dans le délai")),
            summary=share_summary,
            unit=" %",
            top=100.0,
            missing=t(N_("aucune réponse")),
        ),
    ]
