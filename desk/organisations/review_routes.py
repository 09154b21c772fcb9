"""The desk team's review of applications and its record of each signatory's status.

Staff with the `register` role (or an admin). Thin: parse, authorise, call desk.registry.joining
or desk.organisations.services, show the page as it now stands.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from desk.core.errors import DeskError, status_of
from desk.core.translatable import N_
from desk.organisations import services
from desk.registry import joining
from desk.registry.models import CharterStatus
from desk.registry.services import (
    APPLICATION_STATE_LABELS,
    CHARTER_STATUS_LABELS,
    KIND_LABELS,
    get_signatory,
)
from desk.staff.auth import require_staff
from desk.staff.models import StaffMember, StaffRole
from desk.staff.pages import staff_page
from desk.web.limits import ascii_id

ROLES = (StaffRole.REGISTER, StaffRole.ADMIN)
HELPERS: dict[str, Any] = {
    "KIND_LABELS": KIND_LABELS,
    "STATE_LABELS": APPLICATION_STATE_LABELS,
    "CHARTER_STATUS_LABELS": CHARTER_STATUS_LABELS,
    "TEAM_TRANSITIONS": joining.TEAM_TRANSITIONS,
    "charter_version": joining.CURRENT_CHARTER_VERSION,
}
_page = partial(staff_page, helpers=HELPERS)
DONE = {
    "accept": N_("Candidature acceptée : l'organisation est candidate sur le registre public."),
    "more": N_("Demande de compléments envoyée à la personne qui a présenté la candidature."),
    "refuse": N_("Candidature refusée : la raison est envoyée à la personne qui l'a présentée."),
}


async def _staff(request: Request) -> StaffMember:
    return await require_staff(request, *ROLES)


def _id(request: Request) -> int:
    found = ascii_id(str(request.path_params["application_id"]))
    if found is None:
        raise HTTPException(404, joining.MSG_NOT_FOUND)
    return found


async def applications(request: Request) -> Response:
    staff = await _staff(request)
    found = await joining.list_applications()
    return _page(request, "organisation/review_list.html", staff, {"applications": found})


async def _application_page(
    request: Request, staff: StaffMember, application_id: int, *, error: str = "", status: int = 200
) -> Response:
    try:
        application = await joining.get_application(application_id=application_id)
    except DeskError as exc:
        raise HTTPException(404, exc.message) from exc
    return _page(
        request,
        "organisation/review.html",
        staff,
        {
            "application": application,
            "error": error,
            "done": request.session.pop("review_done", ""),
        },
        status_code=status,
    )


async def application_page(request: Request) -> Response:
    staff = await _staff(request)
    return await _application_page(request, staff, _id(request))


async def application_decide(request: Request) -> Response:
    staff = await _staff(request)
    application_id = _id(request)
    form = await request.form()
    action = str(form.get("action") or "")
    reason = str(form.get("reason") or "")
    actor = f"staff:{staff.id}"
    try:
        if action == "accept":
            await services.accept_application(
                application_id=application_id, reason=reason, actor=actor
            )
        elif action == "more":
            await joining.ask_more(application_id=application_id, reason=reason, actor=actor)
        elif action == "refuse":
            await joining.refuse(application_id=application_id, reason=reason, actor=actor)
        else:
            raise DeskError(
                N_("Choisissez une réponse : accepter, demander des compléments ou refuser.")
            )
    except DeskError as exc:
        if exc.code == "not_found":
            raise HTTPException(404, exc.message) from exc
        return await _application_page(
            request, staff, application_id, error=exc.message, status=status_of(exc, default=422)
        )
    request.session["review_done"] = DONE[action]
    return RedirectResponse(f"/back-office/candidatures/{application_id}", status_code=303)


async def status_form(request: Request) -> Response:
    staff = await _staff(request)
    return await _status_page(request, staff)


async def _status_page(
    request: Request, staff: StaffMember, *, error: str = "", status: int = 200
) -> Response:
    slug = str(request.path_params["slug"])[:64]
    signatory = await get_signatory(slug=slug)
    if signatory is None:
        raise HTTPException(404, joining.MSG_NO_SIGNATORY)
    history = await joining.status_history(signatory_id=signatory.id)
    return _page(
        request,
        "organisation/status.html",
        staff,
        {
            "signatory": signatory,
            "history": history,
            "choices": sorted(joining.TEAM_TRANSITIONS[CharterStatus(signatory.charter_status)]),
            "error": error,
            "done": request.session.pop("status_done", ""),
        },
        status_code=status,
    )


async def status_change(request: Request) -> Response:
    staff = await _staff(request)
    slug = str(request.path_params["slug"])[:64]
    form = await request.form()
    try:
        await joining.change_status(
            slug=slug,
            status=str(form.get("status") or ""),
            reason=str(form.get("reason") or ""),
            actor=f"staff:{staff.id}",
        )
    except DeskError as exc:
        if exc.code == "not_found":
            raise HTTPException(404, exc.message) from exc
        return await _status_page(
            request, staff, error=exc.message, status=status_of(exc, default=422)
        )
    request.session["status_done"] = N_("Statut enregistré et publié sur le registre.")
    return RedirectResponse(f"/back-office/statut/{slug}", status_code=303)


routes: list[BaseRoute] = [
    Route("/back-office/candidatures", applications, methods=["GET"], name="review:list"),
    Route(
        "/back-office/candidatures/{application_id}",
        application_page,
        methods=["GET"],
        name="review:application",
    ),
    Route(
        "/back-office/candidatures/{application_id}",
        application_decide,
        methods=["POST"],
        name="review:decide",
    ),
    Route("/back-office/statut/{slug}", status_form, methods=["GET"], name="review:status"),
    Route(
        "/back-office/statut/{slug}", status_change, methods=["POST"], name="review:status_change"
    ),
]
