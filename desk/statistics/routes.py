"""Public transparency pages: statistics, annual report, open data, flows."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from desk.core import clock
from desk.core.i18n import translate
from desk.core.translatable import N_
from desk.statistics import opendata, report
from desk.statistics import snapshot as statistics_snapshot
from desk.statistics.charts import overview_charts
from desk.web.templating import render

OPEN_DATA_HEADERS = {"access-control-allow-origin": "*", "cache-control": "public, max-age=300"}
YEAR_NOT_FOUND_FR = N_(
    "Il n'y a pas de bilan pour cette année : l'adresse doit se terminer par une année passée "
    "ou l'année en cours, en quatre chiffres (par exemple /bilan/2025)."
)


def _t(request: Request) -> Any:
    locale = str(getattr(request.state, "locale", "fr"))

    def t(text: str, **values: object) -> str:
        return translate(text, locale, **values)

    return t


def _locale(request: Request) -> str:
    return str(getattr(request.state, "locale", "fr"))


async def statistics_page(request: Request) -> Response:
    now = clock.now()
    overview = await statistics_snapshot.page_overview(
        now=now, max_age=request.app.state.settings.statistics_max_age
    )
    charts = overview_charts(overview, t=_t(request), locale=_locale(request))
    return render(
        request,
        "charter/stats.html",
        {"overview": overview, "charts": charts, "this_year": clock.local(now).year},
    )


async def report_page(request: Request) -> Response:
    now = clock.now()
    year = report.parse_year(str(request.path_params["year"]), now=now)
    if year is None:
        raise HTTPException(404, YEAR_NOT_FOUND_FR)
    annual = await report.build_report(year=year, now=now)
    charts = overview_charts(annual.overview, t=_t(request), locale=_locale(request))
    return render(
        request, "charter/report.html", {**report.report_context(annual), "charts": charts}
    )


async def open_data_index(request: Request) -> Response:
    datasets = [(name, opendata.schema(name)) for name in opendata.DATASETS]
    return render(
        request,
        "charter/opendata.html",
        {
            "datasets": datasets,
            "licence_name": opendata.LICENCE_NAME,
            "licence_url": opendata.LICENCE_URL,
        },
    )


async def open_data_redirect(request: Request) -> Response:
    return RedirectResponse("/donnees-ouvertes/", status_code=308)


def _csv_endpoint(name: str) -> Any:
    async def endpoint(request: Request) -> Response:
        return Response(
            opendata.to_csv(name, await opendata.rows(name)),
            media_type="text/csv; charset=utf-8",
            headers={
                **OPEN_DATA_HEADERS,
                "content-disposition": f'attachment; filename="{name}.csv"',
                "link": f'</donnees-ouvertes/{name}.schema.json>; rel="describedby"',
            },
        )

    return endpoint


def _json_endpoint(name: str) -> Any:
    async def endpoint(request: Request) -> Response:
        return JSONResponse(await opendata.rows(name), headers=OPEN_DATA_HEADERS)

    return endpoint


def _schema_endpoint(name: str) -> Any:
    async def endpoint(request: Request) -> Response:
        base = request.app.state.settings.base_url
        return JSONResponse(
            opendata.published_schema(name, base_url=base),
            media_type="application/schema+json",
            headers=OPEN_DATA_HEADERS,
        )

    return endpoint


async def flows_page(request: Request) -> Response:
    rows = await opendata.recipient_rows()
    by_signatory: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_signatory[(row["signatory_slug"], row["signatory_name"])].append(row)
    flows = [
        {
            "slug": slug,
            "name": name,
            "rows": items,
            "recipients": list(dict.fromkeys(row["recipient"] for row in items)),
        }
        for (slug, name), items in by_signatory.items()
    ]
    recipients = {row["recipient"] for row in rows}
    return render(
        request,
        "public/flows.html",
        {"flows": flows, "flow_count": len(rows), "recipient_count": len(recipients)},
    )


routes: list[BaseRoute] = [
    Route("/statistiques", statistics_page, name="charter:statistics"),
    Route("/bilan/{year}", report_page, name="charter:report"),
    Route("/donnees-ouvertes", open_data_redirect),
    Route("/donnees-ouvertes/", open_data_index, name="charter:open_data"),
    *[
        route
        for name in opendata.DATASETS
        for route in (
            Route(f"/donnees-ouvertes/{name}.csv", _csv_endpoint(name)),
            Route(f"/donnees-ouvertes/{name}.json", _json_endpoint(name)),
            Route(f"/donnees-ouvertes/{name}.schema.json", _schema_endpoint(name)),
        )
    ],
    Route(
        f"/donnees-ouvertes/{opendata.REGISTER_SCHEMA}.schema.json",
        _schema_endpoint(opendata.REGISTER_SCHEMA),
    ),
    # Before the register's /signataires/{slug}, which would take "flux" for a slug.
    Route("/signataires/flux", flows_page, name="charter:flows"),
]
