"""The signatory's own space at /organisation: login by email link, and every route of the space.

Thin: parse, authorise (`require_member`: every query is filtered by the member's signatory),
call a service, render the page as it now stands. The pages of the space live in one module per
responsibility (people, declarations, inbox, the committee's questions, the connection
settings, the follow-up pages); this one logs people in and out and gathers their routes.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from desk.audit.log import record_action
from desk.core.translatable import N_
from desk.identity import login_links
from desk.identity.login_links import LoginLinkError
from desk.organisations import (
    complaint_routes,
    connection_routes,
    declaration_routes,
    follow_routes,
    inbox_routes,
    people_routes,
    services,
)
from desk.organisations.auth import (
    NEXT_KEY,
    current_member,
    end_member_session,
    start_member_session,
)
from desk.organisations.pages import page as _page
from desk.residents.services import InvalidEmail
from desk.staff.auth import safe_next

# --- login ----------------------------------------------------------------------------------------


async def login_form(request: Request) -> Response:
    member = await current_member(request)
    return _page(request, "organisation/login.html", {"email": "", "error": None}, member=member)


async def login_submit(request: Request) -> Response:
    settings = request.app.state.settings
    form = await request.form()
    raw = form.get("email")
    email = raw if isinstance(raw, str) else ""
    kind = login_links.ORGANISATION
    browser = login_links.browser_nonce(request, kind) or login_links.new_secret()
    try:
        await services.request_member_login(
            email=email, browser=browser, secret_key=settings.secret_key
        )
    except InvalidEmail as exc:
        return _page(
            request,
            "organisation/login.html",
            {"email": email.strip()[:254], "error": exc.message},
            status_code=422,
        )
    response = _page(
        request,
        "organisation/login_sent.html",
        {"minutes": max(1, settings.login_link_max_age // 60)},
    )
    login_links.keep_browser_nonce(
        response, kind, browser, max_age=settings.login_link_max_age, secure=settings.https_only
    )
    return response


def _link_problem(request: Request, exc: LoginLinkError) -> Response:
    return login_links.no_referrer(
        _page(
            request,
            "organisation/login_problem.html",
            {"reason": exc.reason, "message": exc.message},
            status_code=exc.status,
        )
    )


async def login_confirm_page(request: Request) -> Response:
    settings = request.app.state.settings
    token = str(request.path_params["token"])
    try:
        await services.check_member_login(
            token=token,
            browser=login_links.browser_nonce(request, login_links.ORGANISATION),
            max_age=settings.login_link_max_age,
        )
    except LoginLinkError as exc:
        return _link_problem(request, exc)
    action = login_links.link_path(login_links.ORGANISATION, token)
    return login_links.no_referrer(
        _page(request, "organisation/login_confirm.html", {"action": action})
    )


async def login_confirm(request: Request) -> Response:
    settings = request.app.state.settings
    try:
        member = await services.confirm_member_login(
            token=str(request.path_params["token"]),
            browser=login_links.browser_nonce(request, login_links.ORGANISATION),
            max_age=settings.login_link_max_age,
        )
    except LoginLinkError as exc:
        return _link_problem(request, exc)
    next_path = safe_next(request.session.get(NEXT_KEY))
    if next_path is not None and not next_path.startswith("/organisation"):
        next_path = None
    # A fresh session: nothing from before the login survives (session fixation).
    request.session.clear()
    start_member_session(request, member)
    response = RedirectResponse(next_path or "/organisation", status_code=303)
    login_links.forget_browser_nonce(response, login_links.ORGANISATION, secure=settings.https_only)
    return login_links.no_referrer(response)


async def logout(request: Request) -> Response:
    member_id = request.session.get("member_id")
    end_member_session(request)
    request.session.clear()
    request.session["flash"] = N_("Vous êtes déconnecté de l'espace de votre organisation.")
    if isinstance(member_id, int):
        await record_action(action="organisation.logout", actor=f"member:{member_id}")
    return RedirectResponse("/organisation/connexion", status_code=303)


routes: list[BaseRoute] = [
    *complaint_routes.routes,
    *inbox_routes.routes,
    *people_routes.routes,
    Route("/organisation/connexion", login_form, methods=["GET"], name="org:login"),
    Route("/organisation/connexion", login_submit, methods=["POST"], name="org:login_submit"),
    Route("/organisation/connexion/{token}", login_confirm_page, methods=["GET"], name="org:link"),
    Route("/organisation/connexion/{token}", login_confirm, methods=["POST"], name="org:confirm"),
    Route("/organisation/deconnexion", logout, methods=["POST"], name="org:logout"),
    *declaration_routes.routes,
    *connection_routes.routes,
    *follow_routes.routes,
]
