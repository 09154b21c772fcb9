"""The register of organisations: its public pages, its open data, the team's form to add one,
and the impact studies' PDFs.

Public: /organisations (every structure holding personal data, signatory or not),
/organisations/{slug} (a non-signatory and who shares data with it), the open data
/donnees-ouvertes/organisations.{csv,json,schema.json}. The desk's team (role `register`, or an
admin) adds organisations at /back-office/organisations.
"""

from __future__ import annotations

import json
import re
from functools import cache, partial
from pathlib import Path
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from desk.core.translatable import N_
from desk.registry import declarations, organisations
from desk.registry.services import KIND_LABELS
from desk.staff.auth import require_staff
from desk.staff.models import StaffRole
from desk.staff.pages import staff_page
from desk.web.csv_export import csv_text
from desk.web.templating import render

SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
OPEN_DATA_HEADERS = {
    # Open data: any site may reuse it; it changes rarely.
    "access-control-allow-origin": "*",
    "cache-control": "public, max-age=300",
}
SCHEMA_PATH = Path(__file__).parent / "schemas" / "organisations.json"
NOT_FOUND = N_(
    "Aucune organisation du registre ne correspond à cette adresse. Retrouvez-les toutes sur la "
    "page « Organisations »."
)
PDF_NOT_FOUND = N_("Cette déclaration n'a pas d'étude d'impact publiée au format PDF.")
ROLES = (StaffRole.REGISTER, StaffRole.ADMIN)
_staff_page = partial(staff_page, helpers={"KIND_LABELS": KIND_LABELS})


@cache
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text("utf-8"))
    return loaded


def columns() -> list[str]:
    return [str(f["name"]) for f in schema()["fields"]]


async def register_page(request: Request) -> Response:
    entries = await organisations.register_entries()
    return render(
        request, "public/organisations.html", {"entries": entries, "KIND_LABELS": KIND_LABELS}
    )


async def organisation_page(request: Request) -> Response:
    slug = str(request.path_params["slug"])
    found = await organisations.get_organisation(slug=slug) if SLUG.fullmatch(slug) else None
    if found is None:
        raise HTTPException(404, NOT_FOUND)
    sharing = await organisations.declarations_sharing_with(f"{organisations.ORGANISATION}:{slug}")
    return render(
        request,
        "public/organisation.html",
        {"organisation": found, "sharing": sharing, "KIND_LABELS": KIND_LABELS},
    )


async def impact_study_pdf(request: Request) -> Response:
    slug, code = str(request.path_params["slug"]), str(request.path_params["code"])
    document = (
        await declarations.current_document(slug=slug, code=code)
        if SLUG.fullmatch(slug) and SLUG.fullmatch(code)
        else None
    )
    if document is None:
        raise HTTPException(404, PDF_NOT_FOUND)
    return Response(
        bytes(document.content),
        media_type="application/pdf",
        headers={
            "content-disposition": f'inline; filename="etude-impact-{slug}-{code}.pdf"',
            "x-content-type-options": "nosniff",
            "cache-control": "public, max-age=300",
            # A PDF is shown, never run as a page of the desk.
            "content-security-policy": "sandbox",
        },
    )


async def open_data_json(request: Request) -> Response:
    rows = await organisations.open_data_rows(base_url=request.app.state.settings.base_url)
    return JSONResponse(rows, headers=OPEN_DATA_HEADERS)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


async def open_data_csv(request: Request) -> Response:
    rows = await organisations.open_data_rows(base_url=request.app.state.settings.base_url)
    return Response(
        csv_text(columns(), ({k: _cell(r.get(k)) for k in columns()} for r in rows)),
        media_type="text/csv; charset=utf-8",
        headers={
            **OPEN_DATA_HEADERS,
            "content-disposition": 'attachment; filename="organisations.csv"',
        },
    )


async def open_data_schema(request: Request) -> Response:
    base = request.app.state.settings.base_url.rstrip("/")
    document = dict(schema())
    document["homepage"] = f"{base}/donnees-ouvertes/"
    document["path"] = f"{base}/donnees-ouvertes/organisations.schema.json"
    document["resources"] = [
        {"title": "organisations.csv", "path": f"{base}/donnees-ouvertes/organisations.csv"},
        {"title": "organisations.json", "path": f"{base}/donnees-ouvertes/organisations.json"},
    ]
    return JSONResponse(document, media_type="application/schema+json", headers=OPEN_DATA_HEADERS)


# --- the team adds organisations ------------------------------------------------------------------


async def _team_page(
    request: Request, form: organisations.OrganisationForm, *, status: int = 200
) -> Response:
    staff = await require_staff(request, *ROLES)
    return _staff_page(
        request,
        "organisation/register_entries.html",
        staff,
        {
            "entries": await organisations.register_entries(),
            "form": form,
            "done": request.session.pop("register_done", ""),
        },
        status,
    )


async def team_page(request: Request) -> Response:
    return await _team_page(request, organisations.OrganisationForm())


async def team_add(request: Request) -> Response:
    staff = await require_staff(request, *ROLES)
    data = await request.form()
    form = organisations.OrganisationForm(
        **{
            name: str(data.get(name) or "")
            for name in ("name", "kind", "siret", "website", "description")
        }
    )
    try:
        added = await organisations.add_organisation(form=form, actor=f"staff:{staff.id}")
    except organisations.OrganisationInvalid as exc:
        form.errors = exc.errors
        return await _team_page(request, form, status=422)
    request.session["register_done"] = added.slug
    return RedirectResponse("/back-office/organisations", status_code=303)


routes: list[BaseRoute] = [
    Route("/organisations", register_page, name="registry:organisations"),
    Route("/organisations/{slug}", organisation_page, name="registry:organisation"),
    Route(
        "/signataires/{slug}/declarations/{code}/etude-impact.pdf",
        impact_study_pdf,
        name="registry:impact_study",
    ),
    Route("/donnees-ouvertes/organisations.json", open_data_json),
    Route("/donnees-ouvertes/organisations.csv", open_data_csv),
    Route("/donnees-ouvertes/organisations.schema.json", open_data_schema),
    Route("/back-office/organisations", team_page, methods=["GET"], name="registry:team"),
    Route("/back-office/organisations", team_add, methods=["POST"], name="registry:team_add"),
]
