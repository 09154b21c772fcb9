"""Staff login by email link, and the staff home page."""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from desk.audit.log import record_action
from desk.core import clock
from desk.core.translatable import N_
from desk.identity import login_links
from desk.identity.login_links import LoginLinkError
from desk.identity.sessions import end_sessions
from desk.residents.services import InvalidEmail, purge_expired
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


async def login_form(request: Request) -> Response:
    staff = await current_staff(request)
    notice = request.session.pop(NOTICE_KEY, None)
    return _page(
        request,
        "staff/login.html",
        {"email": "", "error": None, "staff": staff, "expired": notice == "expired"},
    )


async def login_submit(request: Request) -> Response:
    settings = request.app.state.settings
    form = await request.form()
    raw = form.get("email")
    email = raw if isinstance(raw, str) else ""
    now = clock.now()
    await purge_expired(now=now, login_max_age=settings.login_link_max_age)
    # The link will work only in a browser holding this nonce (kept if it already has one).
    browser = login_links.browser_nonce(request, login_links.STAFF) or login_links.new_secret()
    try:
        await services.request_staff_login(
            email=email, browser=browser, secret_key=settings.secret_key, now=now
        )
    except InvalidEmail as exc:
        return _page(
            request,
            "staff/login.html",
            {"email": email.strip()[:254], "error": exc.message, "staff": None, "expired": False},
            status_code=422,
        )
    # The same page (and the same cookie) whether the address belongs to an active member or not.
    response = _page(
        request, "staff/login_sent.html", {"minutes": max(1, settings.login_link_max_age // 60)}
    )
    login_links.keep_browser_nonce(
        response,
        login_links.STAFF,
        browser,
        max_age=settings.login_link_max_age,
        secure=settings.https_only,
    )
    return response


def _link_problem(request: Request, exc: LoginLinkError) -> Response:
    template = "staff/login_elsewhere.html" if exc.reason == "elsewhere" else None
    return login_links.no_referrer(
        _page(
            request,
            template or "staff/login_problem.html",
            {"reason": exc.reason, "message": exc.message},
            status_code=exc.status,
        )
    )


async def login_confirm_page(request: Request) -> Response:
    """GET of the mailed link: only a confirmation page (mail scanners follow links)."""
    settings = request.app.state.settings
    token = request.path_params["token"]
    try:
        await services.check_staff_login(
            token=token,
            browser=login_links.browser_nonce(request, login_links.STAFF),
            max_age=settings.login_link_max_age,
        )
    except LoginLinkError as exc:
        return _link_problem(request, exc)
    page = _page(request, "staff/login_confirm.html", {"action": services.staff_login_path(token)})
    return login_links.no_referrer(page)


async def login_confirm(request: Request) -> Response:
    settings = request.app.state.settings
    token = request.path_params["token"]
    try:
        staff = await services.confirm_staff_login(
            token=token,
            browser=login_links.browser_nonce(request, login_links.STAFF),
            max_age=settings.login_link_max_age,
        )
    except LoginLinkError as exc:
        return _link_problem(request, exc)
    next_path = safe_next(request.session.get(NEXT_KEY))
    # A fresh session: nothing from before the login survives (session fixation).
    request.session.clear()
    start_staff_session(request, staff)
    response = RedirectResponse(next_path or home_for(staff), status_code=303)
    login_links.forget_browser_nonce(response, login_links.STAFF, secure=settings.https_only)
    return login_links.no_referrer(response)


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
    Route("/equipe/connexion", login_form, methods=["GET"], name="staff_login"),
    Route("/equipe/connexion", login_submit, methods=["POST"], name="staff_login_submit"),
    Route("/equipe/connexion/{token}", login_confirm_page, methods=["GET"], name="staff_link"),
    Route("/equipe/connexion/{token}", login_confirm, methods=["POST"], name="staff_confirm"),
    Route("/equipe/deconnexion", logout, methods=["POST"], name="staff_logout"),
    Route(
        "/equipe/deconnexion/partout",
        logout_everywhere,
        methods=["POST"],
        name="staff_logout_everywhere",
    ),
]
