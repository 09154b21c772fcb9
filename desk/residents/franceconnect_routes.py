"""The FranceConnect pages: start the login, come back from it, come back from its logout."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from desk.core.translatable import N_
from desk.residents import franceconnect
from desk.residents.auth import start_session
from desk.residents.franceconnect import FranceConnectError
from desk.residents.identities import log_in_with_franceconnect
from desk.web.templating import render

log = logging.getLogger("desk.residents.franceconnect")

FLASH = "flash"


def _problem(request: Request, exc: FranceConnectError) -> Response:
    return render(
        request,
        "resident/franceconnect_problem.html",
        {
            "reason": exc.reason,
            "message": exc.message,
            "enabled": request.app.state.settings.franceconnect_enabled,
        },
        status_code=400,
        headers={"cache-control": "no-store"},
    )


async def login_start(request: Request) -> Response:
    """POST (with its CSRF token) from the login page's FranceConnect button."""
    try:
        return await franceconnect.start(request)
    except FranceConnectError as exc:
        return _problem(request, exc)


async def login_return(request: Request) -> Response:
    """FranceConnect sends the browser back here with a code (or an error) and our state."""
    try:
        identity = await franceconnect.finish(request)
        logged = await log_in_with_franceconnect(identity=identity)
    except FranceConnectError as exc:
        log.info("franceconnect login refused (%s)", exc.reason)
        return _problem(request, exc)
    resident = logged.resident
    next_path = await start_session(request, resident, method="franceconnect")
    # Kept for the logout: FranceConnect ends its own session from this hint.
    request.session[franceconnect.ID_TOKEN_KEY] = identity.id_token
    if logged.outcome == "linked":
        request.session[FLASH] = N_(
            "FranceConnect est maintenant relié à votre compte : vous pouvez vous connecter "
            "avec FranceConnect ou avec un lien reçu par courriel."
        )
    return RedirectResponse(next_path or "/mon-espace", status_code=303)


async def logout_return(request: Request) -> Response:
    """Back from FranceConnect's end-session page; the desk's session already ended."""
    if not await franceconnect.logout_returned(request):
        return _problem(request, FranceConnectError("logout"))
    request.session[FLASH] = N_("Vous êtes déconnecté du guichet et de FranceConnect. À bientôt !")
    return RedirectResponse("/", status_code=303)


routes: list[BaseRoute] = [
    Route("/franceconnect/connexion", login_start, methods=["POST"], name="franceconnect_login"),
    Route(franceconnect.CALLBACK_PATH, login_return, methods=["GET"], name="franceconnect_return"),
    Route(
        franceconnect.LOGOUT_RETURN_PATH,
        logout_return,
        methods=["GET"],
        name="franceconnect_logout_return",
    ),
]
