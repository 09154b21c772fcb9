"""Staff login by email link (desk.identity.login_routes), and the staff home page."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from desk.audit.log import record_action
from desk.core.translatable import N_
from desk.identity import login_links
from desk.identity.login_routes import LoginPages, RouteNames, login_routes
from desk.identity.sessions import end_sessions
from desk.staff import services
from desk.staff.auth import (
    NEXT_KEY,
    NOTICE_KEY,
    allowed,
    current_staff,
    end_staff_session,
    require_staff,
    safe_next,
    start_staff_session,
)
from desk.staff.models import StaffMember, StaffRole
from desk.web.templating import render

log = logging.getLogger("desk.staff")

ROLE_LABELS: dict[str, str] = {
    StaffRole.BACK_OFFICE: N_("back office (suivi des demandes et des envois)"),
    StaffRole.MEDIATOR: N_("médiation numérique (accompagnement des personnes)"),
    StaffRole.COMMITTEE: N_("comité d'éthique"),
    StaffRole.REGISTER: N_("registre des signataires (candidatures à la charte)"),
    StaffRole.ADMIN: N_("administration du guichet"),
}

BACK_OFFICE_ROLES = (StaffRole.BACK_OFFICE, StaffRole.ADMIN)


def role_label(role: StaffRole | str) -> str:
    return ROLE_LABELS.get(str(role), str(role))


def home_for(staff: StaffMember) -> str:
    if staff.role == StaffRole.MEDIATOR:
        return "/mediation"
    return "/back-office" if allowed(staff, BACK_OFFICE_ROLES) else "/equipe"


def _page(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    return render(
        request,
        template,
        {"role_label": role_label, **context},
        status_code=status_code,
        headers={"cache-control": "no-store"},
    )


# --- login (the one flow: desk.identity.login_routes) ----------------------------------------


async def _signed_in(request: Request) -> dict[str, Any]:
    notice = request.session.pop(NOTICE_KEY, None)
    return {"staff": await current_staff(request), "expired": notice == "expired"}


async def _land(request: Request, staff: StaffMember) -> str:
    next_path = safe_next(request.session.get(NEXT_KEY))
    # A fresh session: nothing from before the login survives (session fixation).
    request.session.clear()
    start_staff_session(request, staff)
    return next_path or home_for(staff)


async def _purge(now: datetime, max_age: int) -> object:
    # Old links only: residents' copies are the retention job's (and a resident login's) work.
    return await login_links.purge_challenges(now=now, max_age=max_age)


LOGIN: LoginPages[StaffMember] = LoginPages(
    audience=services.AUDIENCE,
    area="staff",
    names=RouteNames(
        form="staff_login",
        submit="staff_login_submit",
        link="staff_link",
        confirm="staff_confirm",
        code="staff_login_code",
        ask="staff_login_ask_other_device",
        device="staff_login_other_device",
        answer="staff_login_other_device_answer",
    ),
    start=_land,
    signed_in=_signed_in,
    nobody={"staff": None, "expired": False},
    frame=lambda request: {"role_label": role_label},
    headers={"cache-control": "no-store"},
    before_ask=_purge,
    rate_limit="staff_login",
)


async def logout(request: Request) -> Response:
    staff_id = request.session.get("staff_id")
    end_staff_session(request)
    # Staff desks are often shared: leave nothing of anybody behind (a new, anonymous session
    # replaces this one and desk.identity.sessions deletes its row).
    request.session.clear()
    request.session["flash"] = N_("Vous êtes déconnecté de l'espace équipe.")
    if isinstance(staff_id, int):
        await record_action(action="staff.logout", actor=f"staff:{staff_id}")
    return RedirectResponse("/equipe/connexion", status_code=303)


async def logout_everywhere(request: Request) -> Response:
    """End every session of this member, on every desk they used."""
    staff = await require_staff(request)
    ended = await end_sessions(staff_id=staff.id)
    await record_action(
        action="staff.logout_everywhere", actor=f"staff:{staff.id}", detail={"sessions": ended}
    )
    end_staff_session(request)
    request.session.clear()
    request.session["flash"] = N_("Vous êtes déconnecté de l'espace équipe sur tous vos appareils.")
    return RedirectResponse("/equipe/connexion", status_code=303)


async def home(request: Request) -> Response:
    staff = await require_staff(request)
    return _page(
        request,
        "staff/home.html",
        {"staff": staff, "back_office": allowed(staff, BACK_OFFICE_ROLES)},
    )


routes: list[BaseRoute] = [
    Route("/equipe", home, methods=["GET"], name="staff_home"),
    *login_routes(LOGIN),
    Route("/equipe/deconnexion", logout, methods=["POST"], name="staff_logout"),
    Route(
        "/equipe/deconnexion/partout",
        logout_everywhere,
        methods=["POST"],
        name="staff_logout_everywhere",
    ),
]
