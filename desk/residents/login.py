"""The resident's login: their audience's pages in the one flow of desk.identity.login_routes
(the audience itself, what a login finds or creates: desk.residents.services.AUDIENCE)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute

from desk.identity.login_routes import LoginPages, RouteNames, login_routes
from desk.residents import services
from desk.residents.auth import current_resident, start_session
from desk.residents.models import Resident

log = logging.getLogger("desk.residents")

# The session key of the resident pages' one-time message (as in desk.residents.routes).
FLASH = "flash"


async def _signed_in(request: Request) -> dict[str, Any]:
    return {"logged_in": await current_resident(request) is not None}


async def _land(request: Request, resident: Resident) -> str:
    next_path = await start_session(request, resident, method="email")
    log.info("resident %s logged in", resident.id)
    return next_path or "/mon-espace"


async def _purge(now: datetime, max_age: int) -> object:
    return await services.purge_expired(now=now, login_max_age=max_age)


LOGIN: LoginPages[Resident] = LoginPages(
    audience=services.AUDIENCE,
    area="resident",
    names=RouteNames(
        form="login",
        submit="login_submit",
        link="login_link",
        confirm="login_confirm",
        code="login_code",
        ask="login_ask_other_device",
        device="login_other_device",
        answer="login_other_device_answer",
    ),
    start=_land,
    signed_in=_signed_in,
    nobody={"logged_in": False},
    # The resident's pages show the flash message in their own place.
    frame=lambda request: {"flash": request.session.pop(FLASH, None)},
    before_ask=_purge,
    rate_limit="login",
)

routes: list[BaseRoute] = login_routes(LOGIN)
