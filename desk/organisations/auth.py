"""Who is logged in to an organisation's space: the member the session names, 2 hours at most;
how they log in (the one flow of desk.identity.login_routes) and out.

Like staff (desk.staff.auth), with keys of its own (member_id, member_auth_at): being logged in
as staff or as a resident opens nothing here, and the reverse. Every page of the space is
filtered by the member's own signatory: an organisation's people see only their organisation.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from desk.audit.log import record_action
from desk.core.translatable import N_
from desk.identity.login_routes import LoginPages, RouteNames, login_routes
from desk.organisations import services
from desk.organisations.models import MemberRole, OrganisationMember
from desk.staff.auth import safe_next
from desk.web.errors import wants_json

MEMBER_KEYS = ("member_id", "member_auth_at")
NEXT_KEY = "member_next"
LOGIN_PATH = "/organisation/connexion"
_UNSET = object()


def start_member_session(request: Request, member: OrganisationMember) -> None:
    request.session["member_id"] = member.id
    request.session["member_auth_at"] = int(time.time())
    request.state.member = member


def end_member_session(request: Request) -> None:
    for key in MEMBER_KEYS:
        request.session.pop(key, None)
    request.state.member = None


async def current_member(request: Request) -> OrganisationMember | None:
    cached = getattr(request.state, "member", _UNSET)
    if cached is not _UNSET:
        return cached  # type: ignore[return-value]
    raw = request.session.get("member_id")
    auth_at = request.session.get("member_auth_at")
    member = None
    max_age = request.app.state.settings.staff_session_max_age
    if (
        isinstance(raw, int)
        and not isinstance(raw, bool)
        and isinstance(auth_at, int)
        and 0 <= time.time() - auth_at < max_age
    ):
        member = (
            await OrganisationMember.filter(id=raw, active=True).select_related("signatory").first()
        )
    request.state.member = member
    return member


async def require_member(request: Request, *roles: MemberRole) -> OrganisationMember:
    """The logged-in member (holding one of `roles` when given); else a 303 to the login page,
    or a 403 page for a member whose role does not allow it."""
    member = await current_member(request)
    if member is None:
        if wants_json(request):
            raise HTTPException(401, "Connectez-vous à l'espace de votre organisation.")
        if request.method == "GET":
            request.session[NEXT_KEY] = request.url.path
        raise HTTPException(
            303,
            "Connectez-vous à l'espace de votre organisation.",
            headers={"Location": LOGIN_PATH},
        )
    if roles and member.role not in roles:
        raise HTTPException(
            403,
            "Seul le délégué à la protection des données (DPO) de votre organisation peut "
            "faire cela. Demandez-le-lui.",
        )
    return member


# --- logging in and out -------------------------------------------------------------------------

# Pages of an organisation's space name its people: never cached, never indexed.
PRIVATE_HEADERS = {"cache-control": "no-store", "x-robots-tag": "noindex, nofollow"}


async def _signed_in(request: Request) -> dict[str, Any]:
    return {"member": await current_member(request)}


async def _land(request: Request, member: OrganisationMember) -> str:
    next_path = safe_next(request.session.get(NEXT_KEY))
    if next_path is not None and not next_path.startswith("/organisation"):
        next_path = None
    # A fresh session: nothing from before the login survives (session fixation).
    request.session.clear()
    start_member_session(request, member)
    return next_path or "/organisation"


LOGIN: LoginPages[OrganisationMember] = LoginPages(
    audience=services.AUDIENCE,
    area="organisation",
    names=RouteNames(
        form="org:login",
        submit="org:login_submit",
        link="org:link",
        confirm="org:confirm",
        code="org:login_code",
        ask="org:login_ask_other_device",
        device="org:login_other_device",
        answer="org:login_other_device_answer",
    ),
    start=_land,
    signed_in=_signed_in,
    frame=lambda request: {"member": None},
    headers=PRIVATE_HEADERS,
    rate_limit="organisation_login",
)


async def logout(request: Request) -> Response:
    member_id = request.session.get("member_id")
    end_member_session(request)
    request.session.clear()
    request.session["flash"] = N_("Vous êtes déconnecté de l'espace de votre organisation.")
    if isinstance(member_id, int):
        await record_action(action="organisation.logout", actor=f"member:{member_id}")
    return RedirectResponse(LOGIN_PATH, status_code=303)


routes: list[BaseRoute] = [
    *login_routes(LOGIN),
    Route("/organisation/deconnexion", logout, methods=["POST"], name="org:logout"),
]
