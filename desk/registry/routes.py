"""The public register's pages and its open-data exports."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from desk.core.errors import DeskError
from desk.core.legal_bases import LEGAL_BASIS_EXPLANATIONS, LEGAL_BASIS_LABELS
from desk.core.translatable import N_
from desk.registry import declarations, history, organisation_routes, organisations, services
from desk.registry.organisation_routes import OPEN_DATA_HEADERS, SLUG
from desk.web.templating import render

NOT_FOUND_FR = N_(
    "Aucun signataire de la charte ne correspond à cette adresse. "
    "Retrouvez tous les signataires sur la page « Signataires »."
)
# Charter status → an existing badge colour (state-<name> in static/desk.css).
STATUS_STATE = {
    "candidate": "pending",
    "capacity_shown": "acknowledged",
    "signed": "fulfilled",
    "suspended": "extended",
    "excluded": "denied",
    "left": "withdrawn",
}


def _labels() -> dict[str, object]:
    return {
        "KIND_LABELS": services.KIND_LABELS,
        "CHARTER_STATUS_LABELS": services.CHARTER_STATUS_LABELS,
        "CHARTER_STATUS_EXPLANATIONS": services.CHARTER_STATUS_EXPLANATIONS,
        "LEGAL_BASIS_LABELS": LEGAL_BASIS_LABELS,
        "LEGAL_BASIS_EXPLANATIONS": LEGAL_BASIS_EXPLANATIONS,
        "channel_label": services.channel_label,
        "STATUS_STATE": STATUS_STATE,
    }


async def register(request: Request) -> Response:
    signatories = await services.list_signatories()
    response = render(request, "public/signatories.html", {"signatories": signatories, **_labels()})
    return response


async def signatory_page(request: Request) -> Response:
    slug = str(request.path_params["slug"])
    signatory = await services.get_signatory(slug=slug) if SLUG.fullmatch(slug) else None
    if signatory is None:
        raise HTTPException(404, NOT_FOUND_FR)
    steps = list(signatory.status_changes)
    response = render(
        request,
        "public/signatory.html",
        {
            "signatory": signatory,
            "history": steps,
            "register": await organisations.entries_by_ref(),
            "recipients_of": organisations.recipients_of,
            **_labels(),
        },
    )
    return response


async def declaration_history(request: Request) -> Response:
    slug = str(request.path_params["slug"])
    code = str(request.path_params["code"])
    if not (SLUG.fullmatch(slug) and SLUG.fullmatch(code)):
        raise HTTPException(404, declarations.MSG_NOT_FOUND)
    try:
        signatory, declaration, entries = await history.public_history(slug=slug, code=code)
    except DeskError as exc:
        raise HTTPException(404, exc.message) from exc
    return render(
        request,
        "public/declaration_history.html",
        {
            "signatory": signatory,
            "declaration": declaration,
            "entries": entries,
            "FIELD_LABELS": declarations.FIELD_LABELS,
            "CHANGE_LABELS": declarations.CHANGE_LABELS,
            **_labels(),
        },
    )


async def open_data_json(request: Request) -> Response:
    records = await services.open_data_rows(base_url=request.app.state.settings.base_url)
    return JSONResponse(records, headers=OPEN_DATA_HEADERS)


async def open_data_csv(request: Request) -> Response:
    return Response(
        await services.open_data_csv(),
        media_type="text/csv; charset=utf-8",
        headers={
            **OPEN_DATA_HEADERS,
            "content-disposition": 'attachment; filename="signataires.csv"',
        },
    )


routes: list[BaseRoute] = [
    Route("/signataires", register, name="registry:list"),
    Route("/signataires/{slug}", signatory_page, name="registry:signatory"),
    Route(
        "/signataires/{slug}/declarations/{code}/historique",
        declaration_history,
        name="registry:declaration_history",
    ),
    Route("/donnees-ouvertes/signataires.json", open_data_json, name="registry:open_data_json"),
    Route("/donnees-ouvertes/signataires.csv", open_data_csv, name="registry:open_data_csv"),
    *organisation_routes.routes,
]
