""" "Mes connexions": residents and staff see their sessions and end one (ASVS 3.3.4)."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from desk.audit.log import record_action
from desk.core.errors import DeskError
from desk.core.translatable import N_
from desk.identity.session_list import (
    HANDLE,
    ListedSession,
    Owner,
    current_session_id,
    end_listed_session,
    list_sessions,
)
from desk.residents.auth import require_resident
from desk.staff.auth import require_staff
from desk.staff.routes import role_label
from desk.web.templating import render

RESIDENT_PAGE = "/mon-espace/connexions"
STAFF_PAGE = "/equipe/connexions"


def _no_such_session() -> DeskError:
    return DeskError(
        "Cette connexion est introuvable : elle est peut-être déjà fermée. "
        "Rechargez la liste de vos connexions.",
        code="not_found",
    )


def _handle(form: FormData) -> str:
    value = form.get("session")
    handle = value if isinstance(value, str) else ""
    if not handle:
        raise DeskError("Indiquez quelle connexion fermer.", code="invalid")
    if not HANDLE.match(handle):
        # Well-formed or not, a handle this browser was not shown names nothing.
        raise _no_such_session()
    return handle


async def _sessions(request: Request, owner: Owner) -> list[ListedSession]:
    settings = request.app.state.settings
    return await list_sessions(
        owner=owner,
        viewer_id=current_session_id(request),
        secret_key=settings.secret_key,
        idle_timeout=settings.session_idle_timeout,
    )


async def _end(request: Request, owner: Owner, actor: str) -> None:
    handle = _handle(await request.form())
    ended = await end_listed_session(
        owner=owner,
        viewer_id=current_session_id(request),
        handle=handle,
        secret_key=request.app.state.settings.secret_key,
    )
    if not ended:
        raise _no_such_session()
    action = "staff.session_ended" if owner.staff_id is not None else "resident.session_ended"
    await record_action(action=action, actor=actor)
    request.session["flash"] = N_("La connexion a été fermée : cet appareil devra se reconnecter.")


async def resident_sessions(request: Request) -> Response:
    resident = await require_resident(request)
    sessions = await _sessions(request, Owner(resident_id=resident.id))
    return render(request, "resident/sessions.html", {"sessions": sessions})


async def resident_end_session(request: Request) -> Response:
    resident = await require_resident(request)
    await _end(request, Owner(resident_id=resident.id), f"resident:{resident.id}")
    return RedirectResponse(RESIDENT_PAGE, status_code=303)


async def staff_sessions(request: Request) -> Response:
    staff = await require_staff(request)
    sessions = await _sessions(request, Owner(staff_id=staff.id))
    return render(
        request,
        "staff/sessions.html",
        {"sessions": sessions, "staff": staff, "role_label": role_label},
        headers={"cache-control": "no-store"},
    )


async def staff_end_session(request: Request) -> Response:
    staff = await require_staff(request)
    await _end(request, Owner(staff_id=staff.id), f"staff:{staff.id}")
    return RedirectResponse(STAFF_PAGE, status_code=303)


routes: list[BaseRoute] = [
    Route(RESIDENT_PAGE, resident_sessions, methods=["GET"], name="resident_sessions"),
    Route(
        f"{RESIDENT_PAGE}/fermer",
        resident_end_session,
        methods=["POST"],
        name="resident_end_session",
    ),
    Route(STAFF_PAGE, staff_sessions, methods=["GET"], name="staff_sessions"),
    Route(f"{STAFF_PAGE}/fermer", staff_end_session, methods=["POST"], name="staff_end_session"),
]
